"""Train a gesture classifier on hand crops, drawn class-balanced (`none` outnumbers each gesture about 12 to 1),
with optional distillation (`--teacher`) and pipeline-cut inputs; the best epoch by validation macro-F1 lands in
`--out` with last.pt (for `--resume`) and run.json (docs/decisions.md#how-the-shipped-classifier-was-trained).

    python -m training.train --model efficientnet_lite0 --epochs 6
    python -m training.train --model mobilenet_v3_small --teacher runs/efficientnet_lite0/best.pt
    python -m training.train --model efficientnet_lite0_slim --labels extended --init training/weights/classifier.pt
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from runtime.paths import data_dir, landmark_model, palm_model
from training import distributed
from training.cache import CachedImages, load_cached
from training.checkpoint import load_checkpoint, save_checkpoint
from training.datasets import Sample, limit_per_class, load_samples
from training.device import DEVICE_CHOICES, PRECISIONS, autocast, grad_scaler
from training.distributed import BalancedSampler, Processes
from training.gestures import LABEL_SETS, LABELS
from training.inference import torch_probabilities
from training.metrics import classification_report
from training.models import ARCHITECTURES, build_model, output_layer
from training.models.efficientnet_lite import BASE_CLASSES, SlimWithBranch
from training.pipeline_crops import PipelineCrops, hard_negatives, pipeline_crops
from training.transforms import AUGMENTATIONS, PAIRED_AUGMENTATIONS, CleanAndDegraded, WashedOut, train_transform

log = logging.getLogger("training.train")

Criterion = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]
"""A training loss of (the teacher's input images, the student's logits, targets)."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line's options; with `--resume`, `load_resumed` then fills in the resumed run's settings."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", choices=sorted(ARCHITECTURES), help="required unless --resume")
    p.add_argument("--data", type=Path, default=data_dir(), help="shared manifest layout or HaGRID layout")
    p.add_argument("--labels", choices=sorted(LABEL_SETS), default="shipped",
                   help="the classes to train (training.gestures.LABEL_SETS): shipped (like, dislike, ok, none) or "
                        "extended (adds raise_hand, peace, rock, call, fist, taken from HaGRID's none classes)")
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--samples-per-epoch", type=int, default=12000)
    p.add_argument("--batch-size", type=int, default=64,
                   help="images per optimiser step over all processes (under torchrun each takes its share)")
    p.add_argument("--lr", type=float, default=2e-3, help="peak learning rate of the one-cycle schedule")
    p.add_argument("--weight-decay", type=float, default=0.02)
    p.add_argument("--label-smoothing", type=float, default=0.1)
    p.add_argument("--teacher", type=Path, help="checkpoint to distil from")
    p.add_argument("--kd-alpha", type=float, default=0.7, help="weight of the distillation loss")
    p.add_argument("--kd-temperature", type=float, default=2.0)
    p.add_argument("--no-pretrained", action="store_true", help="start from random weights even if ImageNet's exist")
    p.add_argument("--init", type=Path, help="start from this checkpoint's weights (fine-tuning); from another label "
                                               "set, the last layer's rows of the labels both have")
    p.add_argument("--freeze-blocks", type=int, default=0,
                   help="keep --init's stem and first N blocks as they are (a branch for training.graft; slim only)")
    p.add_argument("--pipeline-share", type=float, default=0.0,
                   help="share of draws that take the crop as the pipeline cuts it from a frame, when it finds it")
    p.add_argument("--pipeline-variants", type=int, default=1, help="pipeline-cut versions per crop (pasting seeds)")
    p.add_argument("--pipeline-box", choices=("palm", "landmarks"), default="landmarks",
                   help="cut pipeline inputs around the hand's landmarks, as the pipeline does, or the palm square")
    p.add_argument("--hard-negatives", type=float, default=0.0,
                   help="share of the none draws taken from the pipeline's hand crops in training none frames")
    p.add_argument("--washed-out-negatives", type=float, default=0.0,
                   help="share of the none draws washed out by over-exposure first (`training.transforms.WashedOut`)")
    p.add_argument("--washed-out-negatives-view", choices=("both", "student"), default="both",
                   help="who sees a washed-out none draw: both views, or (webcam-vs-clean) the student alone")
    p.add_argument("--washed-out", type=float, default=0.0,
                   help="share of the draws of every class over-exposed among the webcam degradations "
                        "(`training.transforms.WashedOut`)")
    p.add_argument("--palm", type=Path, help="palm detector ONNX for pipeline-cut inputs (default: the exported one)")
    p.add_argument("--augment", choices=sorted(AUGMENTATIONS), default="standard",
                   help="standard, webcam (a webcam's degradations: `training.transforms`), or webcam-vs-clean "
                        "(the student sees them, the teacher the clean crop; needs --teacher)")
    p.add_argument("--out", type=Path, help="run folder (default runs/<model>[-distilled])")
    p.add_argument("--resume", type=Path, help="last.pt of an earlier run to continue with that run's settings")
    p.add_argument("--stop-after", type=int, help="stop after this many epochs of this invocation (then --resume)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", help=DEVICE_CHOICES)
    p.add_argument("--precision", choices=PRECISIONS, default="auto",
                   help="auto: float16 autocast on CUDA, float32 on the CPU; bfloat16: autocast on either "
                        "(fast on CPUs with AVX-512 BF16 or AMX)")
    p.add_argument("--threads", type=int, help="CPU threads per process (default: the cores shared among this "
                                                 "machine's training processes)")
    p.add_argument("--workers", type=int, help="data-loading processes for augmentation, per training process "
                                                 "(default: this process's share of the cores, at most 8)")
    p.add_argument("--limit", type=int, help="use at most this many training and validation crops (smoke tests)")
    p.add_argument("--limit-per-class", type=int,
                   help="use at most this many training and validation images of each class (quick runs)")
    args = p.parse_args(argv)
    if args.model is None and args.resume is None:
        p.error("--model is required unless --resume is given")
    if args.freeze_blocks and (args.init is None or args.model != "efficientnet_lite0_slim") and args.resume is None:
        p.error("--freeze-blocks keeps --init's first blocks: give --init and --model efficientnet_lite0_slim")
    if args.augment in PAIRED_AUGMENTATIONS and args.teacher is None and args.resume is None:
        p.error(f"--augment {args.augment} distils from a teacher: give --teacher")
    if args.washed_out and args.augment == "standard":
        p.error("--washed-out is one of the webcam augmentations' degradations: give --augment webcam or "
                "webcam-vs-clean")
    if args.washed_out_negatives_view == "student" and args.augment not in PAIRED_AUGMENTATIONS:
        p.error("--washed-out-negatives-view student needs a teacher's view apart: give --augment webcam-vs-clean")
    return args


RUN_LOCAL_OPTIONS = ("resume", "stop_after", "threads", "workers", "device")
"""Options that belong to one invocation; everything else comes back from the resumed run's config."""

PATH_OPTIONS = ("data", "out", "teacher", "init", "palm")
"""Options that hold paths, turned back into `Path`s when a run is resumed."""


def load_resumed(args: argparse.Namespace) -> dict | None:
    """The state in `--resume`'s last.pt, read once, with its run's settings put into `args`; None without it."""
    if args.resume is None:
        return None
    state = torch.load(args.resume, map_location="cpu", weights_only=False)
    restore_config(args, state["record"]["config"])
    return state


def restore_config(args: argparse.Namespace, config: dict) -> None:
    """Take the resumed run's settings, so that its schedule and data are the same as before the interruption."""
    for key, value in config.items():
        if key not in RUN_LOCAL_OPTIONS:
            setattr(args, key, Path(value) if key in PATH_OPTIONS and value is not None else value)


class CropDataset(Dataset):
    """Cached uint8 crops, then the hard negatives (`none`), through a torchvision transform, memory-mapped; a draw
    takes a pipeline-cut version with probability `pipeline_share` (when the detector found that hand), and a
    `none` draw (label index `none`) is washed out first with probability `washed_out_share` (both views, or the
    student's alone)."""

    def __init__(self, cached: CachedImages, transform: nn.Module, pipeline_crops: list[PipelineCrops] = (),
                 pipeline_share: float = 0.0, negatives: np.ndarray | None = None,
                 washed_out_share: float = 0.0, washed_out_student_only: bool = False,
                 none: int = LABELS.index("none")) -> None:
        if washed_out_student_only and not isinstance(transform, CleanAndDegraded):
            raise ValueError("washing out the student's view alone needs the paired CleanAndDegraded transform")
        self.images, self.labels, self.transform = cached.images, cached.labels, transform
        self.pipeline_crops, self.pipeline_share = list(pipeline_crops), pipeline_share
        self.washed_out, self.washed_out_share = WashedOut(), washed_out_share
        self.washed_out_student_only = washed_out_student_only
        self.none = none
        self.negatives = negatives if negatives is not None else np.zeros((0, *self.images.shape[1:]), np.uint8)

    def __len__(self) -> int:
        return len(self.labels) + len(self.negatives)

    def __getitem__(self, index: int) -> tuple[torch.Tensor | tuple[torch.Tensor, torch.Tensor], int]:
        if index >= len(self.labels):
            image, label = self.negatives[index - len(self.labels)], self.none
        else:
            image, label = self.images[index], int(self.labels[index])
            if self.pipeline_crops and random.random() < self.pipeline_share:
                version = random.choice(self.pipeline_crops)
                if index < len(version.found) and version.found[index]:
                    image = version.images[index]
        tensor = torch.from_numpy(np.array(image)).permute(2, 0, 1)
        if label == self.none and random.random() < self.washed_out_share:
            if self.washed_out_student_only:
                return self.transform(tensor, wash_out_student=True), label
            tensor = self.washed_out(tensor)
        return self.transform(tensor), label


def balanced_sampler(labels: np.ndarray, num_samples: int, seed: int, hard_negatives: int = 0,
                     hard_share: float = 0.0, processes: Processes | None = None,
                     none: int = LABELS.index("none")) -> BalancedSampler:
    """Each class equally likely per draw: the remedy for `none` outnumbering each gesture. The last
    `hard_negatives` samples (all `none`, label index `none`) take `hard_share` of the none draws. Under torchrun,
    this process's share of the draws."""
    ordinary = labels[:len(labels) - hard_negatives]
    counts = np.bincount(ordinary, minlength=none + 1).astype(np.float64)
    weights = 1.0 / counts[labels]
    if hard_negatives:
        weights[:len(ordinary)][ordinary == none] *= 1.0 - hard_share
        weights[len(ordinary):] = hard_share / hard_negatives
    rank, world_size = (processes.rank, processes.world_size) if processes else (0, 1)
    return BalancedSampler(torch.from_numpy(weights), num_samples, seed, rank, world_size)


def distillation_loss(student: torch.Tensor, teacher: torch.Tensor, temperature: float) -> torch.Tensor:
    """Hinton et al.'s KL divergence between softened distributions, scaled by T^2."""
    return F.kl_div(F.log_softmax(student / temperature, 1), F.log_softmax(teacher / temperature, 1),
                    log_target=True, reduction="batchmean") * temperature ** 2


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def cores_per_process() -> int:
    """This machine's cores shared among torchrun's processes on it (all of them without torchrun)."""
    return max(1, (os.cpu_count() or 1) // int(os.environ.get("LOCAL_WORLD_SIZE", "1")))


def seed_epoch(seed: int, epoch: int, rank: int) -> None:
    """Seed the augmentation of one epoch in one process: a resumed run repeats the uninterrupted one, and the
    processes of a torchrun augment differently."""
    seed_everything((seed * 10_000 + epoch) * 1_000 + rank)


def subset(cached: CachedImages, limit: int | None, seed: int) -> CachedImages:
    if limit is None or limit >= len(cached):
        return cached
    keep = np.sort(np.random.default_rng(seed).choice(len(cached), limit, replace=False))
    return CachedImages(cached.images[keep], cached.labels[keep], [cached.paths[i] for i in keep], cached.skipped)


@dataclass(frozen=True)
class TrainingData:
    """What a run trains and validates on, its integer labels indexing `labels`; `negatives` are the pipeline's none
    crops, drawn after the training crops."""

    train_set: CachedImages
    val_set: CachedImages
    pipeline_versions: list[PipelineCrops]
    negatives: np.ndarray
    val_pipeline: CachedImages | None = None
    """The validation crops as the running pipeline cuts them (those it finds), when training on such inputs: what
    the best epoch is chosen on, since it is what the classifier gets in a call."""
    labels: tuple[str, ...] = LABELS

    @property
    def none(self) -> int:
        return self.labels.index("none")

    @property
    def train_labels(self) -> np.ndarray:
        """The labels of every training draw: the crops', then `none` for each hard negative."""
        return np.concatenate([self.train_set.labels, np.full(len(self.negatives), self.none)])


def load_data(args: argparse.Namespace) -> TrainingData:
    """The cached training and validation crops, labelled in `--labels`'s set, with the pipeline-cut versions and
    hard negatives asked for."""
    labels = LABEL_SETS[args.labels]
    train_samples = limit_per_class(load_samples(args.data, "train", labels=labels), args.limit_per_class, args.seed)
    val_samples = limit_per_class(load_samples(args.data, "val", labels=labels), args.limit_per_class, args.seed)
    train_set = subset(load_cached(train_samples, desc="decoding train", labels=labels), args.limit, args.seed)
    val_set = subset(load_cached(val_samples, desc="decoding val", labels=labels), args.limit, args.seed)
    log.info("train %d crops, val %d crops, skipped %d unreadable", len(train_set), len(val_set),
             len(train_set.skipped) + len(val_set.skipped))
    versions, negatives = pipeline_inputs(args, train_samples, train_set)
    val_pipeline = pipeline_validation(args, val_samples, val_set) if versions else None
    return TrainingData(train_set, val_set, versions, negatives, val_pipeline, labels)


VAL_PIPELINE_SEED = 1000
"""The pasting seed of the pipeline-cut validation crops, apart from the training versions' seeds (0, 1, ...)."""


def pipeline_validation(args: argparse.Namespace, samples: list[Sample], val_set: CachedImages) -> CachedImages:
    """The validation crops the pipeline finds when each is pasted into a training frame, cut as in training."""
    skipped = set(val_set.skipped)
    readable = [s for s in samples if str(s.path) not in skipped]
    cut = pipeline_crops(readable, args.data, args.palm or palm_model(), VAL_PIPELINE_SEED,
                         landmark_model=landmark_model() if args.pipeline_box == "landmarks" else None,
                         labels=LABEL_SETS[args.labels])
    found = np.flatnonzero(cut.found)
    log.info("pipeline-cut validation: the pipeline finds %d of %d hands", len(found), len(readable))
    return CachedImages(np.asarray(cut.images)[found], val_set.labels[found], [val_set.paths[i] for i in found])


def pipeline_inputs(args: argparse.Namespace, samples: list[Sample], train_set: CachedImages
                    ) -> tuple[list[PipelineCrops], np.ndarray]:
    """The pipeline-cut versions of the training crops and the hard negatives the options ask for, from the frames
    that are `none` in the run's label set."""
    versions, negatives = [], np.zeros((0, *train_set.images.shape[1:]), dtype=np.uint8)
    labels = LABEL_SETS[args.labels]
    landmarks = landmark_model() if args.pipeline_box == "landmarks" else None
    if args.pipeline_share > 0:
        if args.limit is not None:
            raise SystemExit("--pipeline-share cannot be combined with --limit")
        skipped = set(train_set.skipped)
        readable = [s for s in samples if str(s.path) not in skipped]
        versions = [pipeline_crops(readable, args.data, args.palm or palm_model(), seed, landmark_model=landmarks,
                                   labels=labels) for seed in range(args.pipeline_variants)]
    if args.hard_negatives > 0:
        negatives = hard_negatives(args.data, args.palm or palm_model(), landmark_model=landmarks, labels=labels)
        if not len(negatives):
            log.warning("%s: no training none frames to take hard negatives from; training without them", args.data)
    return versions, negatives


def train_loader(args: argparse.Namespace, data: TrainingData, size: int, processes: Processes) -> DataLoader:
    """Augmented, class-balanced batches, this process's share of each. Workers draw their seeds from the process's
    torch RNG, seeded per epoch, and the sampler draws per seed and epoch, so runs and resumes repeat exactly."""
    if args.batch_size % processes.world_size:
        raise SystemExit(f"--batch-size {args.batch_size} does not split evenly over {processes.world_size} processes")
    sampler = balanced_sampler(data.train_labels, args.samples_per_epoch, args.seed, len(data.negatives),
                               args.hard_negatives, processes, data.none)
    dataset = CropDataset(data.train_set, train_transform(size, args.augment, args.washed_out), data.pipeline_versions,
                          args.pipeline_share, data.negatives, args.washed_out_negatives,
                          args.washed_out_negatives_view == "student", data.none)
    return DataLoader(dataset, batch_size=args.batch_size // processes.world_size, sampler=sampler,
                      num_workers=min(8, cores_per_process()) if args.workers is None else args.workers,
                      drop_last=True, pin_memory=processes.device.type == "cuda")


def student_model(args: argparse.Namespace, labels: Sequence[str]) -> nn.Module:
    """The model to train, one output per label: ImageNet weights where they exist, or `--init`'s, or random ones."""
    model = build_model(args.model, pretrained=not args.no_pretrained and not args.init, num_classes=len(labels))
    if args.init:
        init, meta = load_checkpoint(args.init)
        if isinstance(init, SlimWithBranch):  # the shipped classifier: start from its four-label base
            init, meta = init.base, {**meta, "labels": [*meta["labels"][:BASE_CLASSES - 1], "none"]}
        load_by_label(model, labels, init, meta["labels"])
        log.info("starting from %s (labels %s)", args.init, ", ".join(meta["labels"]))
    if args.freeze_blocks:
        model.freeze_trunk(args.freeze_blocks)
    return model.to(memory_format=torch.channels_last)


def load_by_label(model: nn.Module, labels: Sequence[str], init: nn.Module, init_labels: Sequence[str]) -> None:
    """`init`'s weights into `model`, the output layer's row by row for the labels both have: fine-tuning into a
    larger label set keeps what the shipped classifier knows, the new labels' rows keep their fresh values."""
    name, head = output_layer(model)
    shared = [label for label in labels if label in init_labels]
    ours, theirs = [labels.index(label) for label in shared], [init_labels.index(label) for label in shared]
    state = init.state_dict()
    for part, fresh in (("weight", head.weight), ("bias", head.bias)):
        rows = fresh.detach().clone()
        rows[ours] = state[f"{name}.{part}"][theirs]
        state[f"{name}.{part}"] = rows
    model.load_state_dict(state)


def criterion(args: argparse.Namespace, size: int, device: torch.device, labels: Sequence[str]) -> Criterion:
    """Label-smoothed cross-entropy, blended with distillation from `--teacher` (of the run's `labels`) when there is
    one."""
    if not args.teacher:
        return lambda _, logits, targets: F.cross_entropy(logits, targets, label_smoothing=args.label_smoothing)
    teacher, meta = load_checkpoint(args.teacher)
    if meta["labels"] != list(labels):  # a teacher's `none` would teach that the run's new gestures are none
        raise SystemExit(f"--teacher {args.teacher}: its labels {meta['labels']} are not this run's {list(labels)}; "
                         "distillation needs a teacher of the same label set")
    teacher = teacher.to(device, memory_format=torch.channels_last)
    log.info("distilling from %s (%s)", args.teacher, meta["model"])

    def loss(teacher_images: torch.Tensor, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        hard = F.cross_entropy(logits, targets, label_smoothing=args.label_smoothing)
        soft = distillation_loss(logits, teacher_logits(teacher, teacher_images, size, meta["input_size"]),
                                 args.kd_temperature)
        return (1 - args.kd_alpha) * hard + args.kd_alpha * soft
    return loss


@torch.no_grad()
def teacher_logits(teacher: nn.Module, images: torch.Tensor, size: int, teacher_size: int) -> torch.Tensor:
    """The teacher's outputs on the student's batch, resized to the teacher's input size where that differs."""
    if teacher_size != size:
        images = F.interpolate(images, size=teacher_size, mode="bilinear", antialias=True)
    return teacher(images)


def optimizer_and_schedule(args: argparse.Namespace, model: nn.Module, steps_per_epoch: int
                           ) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler]:
    """AdamW under a one-cycle learning rate stepped per batch over all `--epochs`."""
    trained = [parameter for parameter in model.parameters() if parameter.requires_grad]
    optimizer = torch.optim.AdamW(trained, lr=args.lr, weight_decay=args.weight_decay)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, args.lr, total_steps=args.epochs * steps_per_epoch + 1,
                                                    pct_start=0.15)
    return optimizer, scheduler


def train_one_epoch(model: nn.Module, loader: DataLoader, optimizer: torch.optim.Optimizer,
                    scheduler: torch.optim.lr_scheduler.LRScheduler, loss_of: Criterion, desc: str,
                    device: torch.device, show_progress: bool = True, precision: str = "auto") -> float:
    """One pass over the loader's draws, stepping the schedule per batch, the forward pass autocast as
    `precision` says (`training.device`); the mean training loss. The progress bar counts images, so it shows
    images per second and the epoch's ETA."""
    model.train()
    scaler = grad_scaler(device, precision)
    total_loss, batches = 0.0, 0
    progress = tqdm(total=len(loader) * (loader.batch_size or 1), desc=desc, unit="img", leave=False,
                    disable=not show_progress)
    for inputs, targets in loader:
        # paired augmentations give (student's view, teacher's view); the others one view for both
        images, teacher_images = inputs if isinstance(inputs, list) else (inputs, inputs)
        images, teacher_images, targets = (t.to(device, non_blocking=True) for t in (images, teacher_images, targets))
        with autocast(device, precision):
            loss = loss_of(teacher_images.contiguous(memory_format=torch.channels_last),
                           model(images.contiguous(memory_format=torch.channels_last)), targets)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        scheduler.step()
        total_loss, batches = total_loss + loss.item(), batches + 1
        progress.update(len(targets))
        progress.set_postfix(loss=f"{total_loss / batches:.4f}", lr=f"{scheduler.get_last_lr()[0]:.2e}")
    progress.close()
    return total_loss / max(batches, 1)


def evaluate(model: nn.Module, val_set: CachedImages, size: int, processes: Processes | None = None,
             labels: Sequence[str] = LABELS) -> dict:
    """The classification report over `labels` on the validation crops, preprocessed as the exported model's inputs
    are. Under torchrun each process scores its share and every process gets the report on the whole set."""
    if processes is None or not processes.distributed:
        return classification_report(val_set.labels, torch_probabilities(model, val_set.images, size).argmax(1),
                                     labels)
    share = val_set.images[processes.rank::processes.world_size]
    predictions = distributed.gather_rows(processes, torch_probabilities(model, share, size).argmax(1), len(val_set))
    return classification_report(val_set.labels, predictions, labels)


def new_record(args: argparse.Namespace, model: nn.Module, data: TrainingData, size: int) -> dict:
    """The run record before its first epoch: the settings to resume with, the data and model sizes."""
    return {"config": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()
                       if k not in RUN_LOCAL_OPTIONS},
            "model": args.model, "input_size": size,
            "parameters": sum(p.numel() for p in model.parameters()),
            "train_crops": len(data.train_set) + len(data.negatives), "val_crops": len(data.val_set),
            "val_pipeline_crops": len(data.val_pipeline) if data.val_pipeline is not None else 0,
            "epochs": [], "best": None,
            "skipped_images": data.train_set.skipped + data.val_set.skipped, "wall_seconds": 0.0}


def add_epoch(record: dict, epoch: int, train_loss: float, report: dict, seconds: float,
              pipeline_report: dict | None = None, images_per_second: float | None = None) -> bool:
    """Append the epoch's scores to the record; whether it is the best epoch so far, by validation macro-F1 on the
    pipeline-cut crops when there are any, else on the crops."""
    entry = {"epoch": epoch + 1, "train_loss": train_loss, "val_macro_f1": report["macro_f1"],
             "val_f1": {k: v["f1"] for k, v in report["per_class"].items()}, "seconds": seconds,
             "train_images_per_second": images_per_second}
    if pipeline_report is not None:
        entry |= {"val_pipeline_macro_f1": pipeline_report["macro_f1"],
                  "val_pipeline_f1": {k: v["f1"] for k, v in pipeline_report["per_class"].items()}}
    record["epochs"].append(entry)
    record["wall_seconds"] += seconds
    key = "val_pipeline_macro_f1" if pipeline_report is not None else "val_macro_f1"
    best = record["best"] is None or entry[key] > record["best"][key]
    if best:
        record["best"] = entry
    return best


def log_epoch(entry: dict) -> None:
    pipeline = (f", pipeline-cut {entry['val_pipeline_macro_f1']:.4f} ("
                + ", ".join(f"{k} {v:.3f}" for k, v in entry["val_pipeline_f1"].items()) + ")"
                if "val_pipeline_f1" in entry else "")
    log.info("epoch %d: loss %.4f, val macro-F1 %.4f (%s)%s, %.0f s (training %.1f images/s)", entry["epoch"],
             entry["train_loss"], entry["val_macro_f1"], ", ".join(f"{k} {v:.3f}" for k, v in entry["val_f1"].items()),
             pipeline, entry["seconds"], entry["train_images_per_second"] or 0.0)


def save_last(path: Path, model: nn.Module, optimizer: torch.optim.Optimizer,
              scheduler: torch.optim.lr_scheduler.LRScheduler, record: dict, epoch: int) -> None:
    """Everything `--resume` needs to continue exactly (the random draws are seeded per epoch): weights, optimiser,
    schedule and record. Written next to the old file, then moved over it, so an interruption leaves one whole."""
    partial = path.with_suffix(".partial")
    torch.save({"state_dict": {k: v.cpu() for k, v in model.state_dict().items()}, "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(), "record": record, "epoch": epoch}, partial)
    partial.replace(path)


def restore_last(state: dict, optimizer: torch.optim.Optimizer,
                 scheduler: torch.optim.lr_scheduler.LRScheduler) -> tuple[dict, int]:
    """Put a `save_last` state's optimiser and schedule back (the weights go in before the model is wrapped); the
    run record and the epoch to continue from."""
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    return state["record"], state["epoch"] + 1


def train(args: argparse.Namespace, resumed: dict | None = None) -> dict:
    """Run the training, continuing `resumed` (a last.pt state) if given, in this process or in each of torchrun's;
    the run record (also in run.json, written by rank 0)."""
    processes = distributed.start(args.device)
    if not processes.is_main:
        logging.getLogger().setLevel(logging.WARNING)
    seed_everything(args.seed)
    torch.set_num_threads(args.threads or cores_per_process())
    out = args.out or Path("runs") / (args.model + ("-distilled" if args.teacher else ""))
    out.mkdir(parents=True, exist_ok=True)
    size = ARCHITECTURES[args.model].input_size
    device = processes.device
    log.info("training on %s%s", device, f" in each of {processes.world_size} processes" * processes.distributed)
    with distributed.local_main_first(processes):
        data = load_data(args)
    student = student_model(args, data.labels).to(device)
    if resumed is not None:
        student.load_state_dict(resumed["state_dict"])
    model = (DistributedDataParallel(student, device_ids=[device.index] if device.type == "cuda" else None)
             if processes.distributed else student)
    loss_of = criterion(args, size, device, data.labels)
    loader = train_loader(args, data, size, processes)
    optimizer, scheduler = optimizer_and_schedule(args, model, len(loader))
    record, start_epoch = new_record(args, student, data, size), 0
    if resumed is not None:
        record, start_epoch = restore_last(resumed, optimizer, scheduler)
        log.info("resumed %s at epoch %d", args.resume, start_epoch + 1)
    end_epoch = args.epochs if args.stop_after is None else min(args.epochs, start_epoch + args.stop_after)
    for epoch in range(start_epoch, end_epoch):
        started = time.time()
        seed_epoch(args.seed, epoch, processes.rank)
        loader.sampler.set_epoch(epoch)
        train_loss = distributed.mean_across(processes, train_one_epoch(
            model, loader, optimizer, scheduler, loss_of, f"epoch {epoch + 1}/{args.epochs}", device,
            show_progress=processes.is_main, precision=args.precision))
        images_per_second = len(loader) * args.batch_size / (time.time() - started)
        distributed.share_buffers(processes, student)
        report = evaluate(student, data.val_set, size, processes, data.labels)
        pipeline_report = (evaluate(student, data.val_pipeline, size, processes, data.labels)
                           if data.val_pipeline is not None else None)
        best = add_epoch(record, epoch, train_loss, report, time.time() - started, pipeline_report, images_per_second)
        log_epoch(record["epochs"][-1])
        if processes.is_main:
            if best:
                save_checkpoint(out / "best.pt", student, args.model, data.labels, val=report,
                                val_pipeline=pipeline_report, epoch=epoch + 1,
                                distilled_from=str(args.teacher) if args.teacher else None)
            save_last(out / "last.pt", student, optimizer, scheduler, record, epoch)
            (out / "run.json").write_text(json.dumps(record, indent=2))
    distributed.finish(processes)
    return record


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    args = parse_args(argv)
    record = train(args, load_resumed(args))
    if not distributed.is_main_process():
        return
    best = record["best"]
    pipeline = f", pipeline-cut {best['val_pipeline_macro_f1']:.4f}" if "val_pipeline_macro_f1" in best else ""
    print(f"best epoch {best['epoch']}: val macro-F1 {best['val_macro_f1']:.4f}{pipeline}; "
          f"{record['wall_seconds'] / 60:.1f} min")


if __name__ == "__main__":
    main()
