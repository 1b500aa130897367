"""Train a gesture classifier on hand crops.

    python -m training.train --model efficientnet_lite0 --epochs 6
    python -m training.train --model mobilenet_v3_small --teacher runs/efficientnet_lite0/best.pt

Each epoch draws `--samples-per-epoch` crops with class-balanced sampling (`none` outnumbers each
gesture about 12 to 1), validates with macro-F1 and keeps the best checkpoint. `--teacher` adds
knowledge distillation: the student matches the teacher's softened outputs on the same augmented
batch. `--resume RUN_DIR/last.pt` continues a run. Everything lands in `--out` (default
`runs/<model>[-distilled]`): best.pt, last.pt and run.json (config, metrics per epoch, wall time).

`--init` starts from a trained checkpoint; `--pipeline-share` and `--hard-negatives` mix in inputs
cut by the running pipeline (`training.pipeline_crops`). That is how the shipped model was fine-tuned:

    python -m training.train --model efficientnet_lite0_slim --init runs/efficientnet_lite0_slim/best.pt \
        --pipeline-share 0.5 --pipeline-variants 2 --hard-negatives 0.33 --epochs 4 --samples-per-epoch 10000 \
        --lr 5e-4
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset, WeightedRandomSampler
from tqdm import tqdm

from export.to_onnx import MODELS_DIR, PALM_DETECTOR
from training.cache import CachedImages, load_cached
from training.checkpoint import load_checkpoint, save_checkpoint
from training.datasets import Sample, load_samples
from training.gestures import LABELS
from training.inference import torch_probabilities
from training.metrics import classification_report
from training.models import ARCHITECTURES, build_model
from training.pipeline_crops import PipelineCrops, hard_negatives, pipeline_crops
from training.transforms import train_transform

log = logging.getLogger("training.train")

PALM_MODEL = MODELS_DIR / PALM_DETECTOR


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", choices=sorted(ARCHITECTURES), help="required unless --resume")
    p.add_argument("--data", type=Path, default=Path("../shared/data/gestures"),
                   help="shared manifest layout or HaGRID layout")
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--samples-per-epoch", type=int, default=12000)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=2e-3, help="peak learning rate of the one-cycle schedule")
    p.add_argument("--weight-decay", type=float, default=0.02)
    p.add_argument("--label-smoothing", type=float, default=0.1)
    p.add_argument("--teacher", type=Path, help="checkpoint to distil from")
    p.add_argument("--kd-alpha", type=float, default=0.7, help="weight of the distillation loss")
    p.add_argument("--kd-temperature", type=float, default=2.0)
    p.add_argument("--no-pretrained", action="store_true", help="start from random weights even if ImageNet's exist")
    p.add_argument("--init", type=Path, help="start from this checkpoint's weights (fine-tuning)")
    p.add_argument("--pipeline-share", type=float, default=0.0,
                   help="share of draws that take the crop as the pipeline cuts it from a frame, when it finds it")
    p.add_argument("--pipeline-variants", type=int, default=1, help="pipeline-cut versions per crop (pasting seeds)")
    p.add_argument("--hard-negatives", type=float, default=0.0,
                   help="share of the none draws taken from the pipeline's hand crops in training none frames")
    p.add_argument("--palm", type=Path, help="palm detector ONNX for pipeline-cut inputs (default: the exported one)")
    p.add_argument("--out", type=Path, help="run folder (default runs/<model>[-distilled])")
    p.add_argument("--resume", type=Path, help="last.pt of an earlier run to continue with that run's settings")
    p.add_argument("--stop-after", type=int, help="stop after this many epochs of this invocation (then --resume)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--workers", type=int, default=2, help="data-loading processes for augmentation")
    p.add_argument("--limit", type=int, help="use at most this many training and validation crops (smoke tests)")
    args = p.parse_args(argv)
    if args.resume:
        restore_config(args)
    elif args.model is None:
        p.error("--model is required unless --resume is given")
    return args


RUN_LOCAL_OPTIONS = ("resume", "stop_after", "threads", "workers")
"""Options that belong to one invocation; everything else comes back from the resumed run's config."""

PATH_OPTIONS = ("data", "out", "teacher", "init", "palm")
"""Options that hold paths, turned back into `Path`s when a run is resumed."""


def restore_config(args: argparse.Namespace) -> None:
    """Take the resumed run's settings, so that its schedule and data are the same as before the interruption."""
    config = torch.load(args.resume, map_location="cpu", weights_only=False)["record"]["config"]
    for key, value in config.items():
        if key not in RUN_LOCAL_OPTIONS:
            setattr(args, key, Path(value) if key in PATH_OPTIONS and value is not None else value)


class CropDataset(Dataset):
    """Cached uint8 crops through a torchvision transform; with `pipeline_crops`, a draw takes one of the crop's
    pipeline-cut versions instead, with probability `pipeline_share`, when the detector found that hand."""

    def __init__(self, cached: CachedImages, transform: nn.Module, pipeline_crops: list[PipelineCrops] = (),
                 pipeline_share: float = 0.0) -> None:
        self.images, self.labels, self.transform = cached.images, cached.labels, transform
        self.pipeline_crops, self.pipeline_share = list(pipeline_crops), pipeline_share

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        image = self.images[index]
        if self.pipeline_crops and random.random() < self.pipeline_share:
            version = random.choice(self.pipeline_crops)
            if index < len(version.found) and version.found[index]:
                image = np.array(version.images[index])
        return self.transform(torch.from_numpy(image).permute(2, 0, 1)), int(self.labels[index])


def balanced_sampler(labels: np.ndarray, num_samples: int, seed: int, hard_negatives: int = 0,
                     hard_share: float = 0.0) -> WeightedRandomSampler:
    """Each class equally likely per draw: the remedy for `none` outnumbering each gesture. The last
    `hard_negatives` samples (all `none`) take `hard_share` of the none draws."""
    ordinary = labels[:len(labels) - hard_negatives]
    counts = np.bincount(ordinary, minlength=len(LABELS)).astype(np.float64)
    weights = 1.0 / counts[labels]
    if hard_negatives:
        weights[:len(ordinary)][ordinary == LABELS.index("none")] *= 1.0 - hard_share
        weights[len(ordinary):] = hard_share / hard_negatives
    return WeightedRandomSampler(torch.from_numpy(weights), num_samples, replacement=True,
                                 generator=torch.Generator().manual_seed(seed))


def distillation_loss(student: torch.Tensor, teacher: torch.Tensor, temperature: float) -> torch.Tensor:
    """Hinton et al.'s KL divergence between softened distributions, scaled by T^2."""
    return F.kl_div(F.log_softmax(student / temperature, 1), F.log_softmax(teacher / temperature, 1),
                    log_target=True, reduction="batchmean") * temperature ** 2


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def subset(cached: CachedImages, limit: int | None, seed: int) -> CachedImages:
    if limit is None or limit >= len(cached):
        return cached
    keep = np.sort(np.random.default_rng(seed).choice(len(cached), limit, replace=False))
    return CachedImages(cached.images[keep], cached.labels[keep], [cached.paths[i] for i in keep], cached.skipped)


def pipeline_inputs(args: argparse.Namespace, samples: list[Sample], train_set: CachedImages
                    ) -> tuple[list[PipelineCrops], np.ndarray]:
    """The pipeline-cut versions of the training crops and the hard negatives the options ask for."""
    versions, negatives = [], np.zeros((0, *train_set.images.shape[1:]), dtype=np.uint8)
    if args.pipeline_share > 0:
        if args.limit is not None:
            raise SystemExit("--pipeline-share cannot be combined with --limit")
        skipped = set(train_set.skipped)
        readable = [s for s in samples if str(s.path) not in skipped]
        versions = [pipeline_crops(readable, args.data, args.palm or PALM_MODEL, seed)
                    for seed in range(args.pipeline_variants)]
    if args.hard_negatives > 0:
        negatives = hard_negatives(args.data, args.palm or PALM_MODEL)
        if not len(negatives):
            log.warning("%s: no training none frames to take hard negatives from; training without them", args.data)
    return versions, negatives


def train(args: argparse.Namespace) -> dict:
    """Run the training and return the run record (also written to run.json)."""
    seed_everything(args.seed)
    torch.set_num_threads(args.threads)
    out = args.out or Path("runs") / (args.model + ("-distilled" if args.teacher else ""))
    out.mkdir(parents=True, exist_ok=True)
    size = ARCHITECTURES[args.model].input_size

    train_samples = load_samples(args.data, "train")
    train_set = subset(load_cached(train_samples, desc="decoding train"), args.limit, args.seed)
    val_set = subset(load_cached(load_samples(args.data, "val"), desc="decoding val"), args.limit, args.seed)
    log.info("train %d crops, val %d crops, skipped %d unreadable", len(train_set), len(val_set),
             len(train_set.skipped) + len(val_set.skipped))
    versions, negatives = pipeline_inputs(args, train_samples, train_set)
    if len(negatives):
        train_set = CachedImages(np.concatenate([train_set.images, negatives]),
                                 np.concatenate([train_set.labels, np.full(len(negatives), LABELS.index("none"))]),
                                 train_set.paths + ["hard negative"] * len(negatives), train_set.skipped)

    model = build_model(args.model, pretrained=not args.no_pretrained and not args.init)
    if args.init:
        model.load_state_dict(load_checkpoint(args.init)[0].state_dict())
        log.info("starting from %s", args.init)
    model = model.to(memory_format=torch.channels_last)
    teacher = None
    if args.teacher:
        teacher, teacher_meta = load_checkpoint(args.teacher)
        teacher = teacher.to(memory_format=torch.channels_last)
        log.info("distilling from %s (%s)", args.teacher, teacher_meta["model"])

    # Workers draw their seeds from the main process's torch RNG each epoch, so runs and resumes repeat exactly.
    sampler = balanced_sampler(train_set.labels, args.samples_per_epoch, args.seed, len(negatives), args.hard_negatives)
    loader = DataLoader(CropDataset(train_set, train_transform(size), versions, args.pipeline_share),
                        batch_size=args.batch_size, sampler=sampler, num_workers=args.workers, drop_last=True)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, args.lr, total_steps=args.epochs * len(loader) + 1,
                                                    pct_start=0.15)
    record = {"config": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()
                         if k not in RUN_LOCAL_OPTIONS},
              "model": args.model, "input_size": size,
              "parameters": sum(p.numel() for p in model.parameters()),
              "train_crops": len(train_set), "val_crops": len(val_set), "epochs": [], "best": None,
              "skipped_images": train_set.skipped + val_set.skipped, "wall_seconds": 0.0}
    start_epoch = 0
    if args.resume:
        state = torch.load(args.resume, map_location="cpu", weights_only=False)
        model.load_state_dict(state["state_dict"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        record, start_epoch = state["record"], state["epoch"] + 1
        torch.set_rng_state(state["rng"])
        sampler.generator.set_state(state["sampler_rng"])
        log.info("resumed %s at epoch %d", args.resume, start_epoch + 1)

    end_epoch = args.epochs if args.stop_after is None else min(args.epochs, start_epoch + args.stop_after)
    for epoch in range(start_epoch, end_epoch):
        started = time.time()
        model.train()
        total_loss, batches = 0.0, 0
        progress = tqdm(loader, desc=f"epoch {epoch + 1}/{args.epochs}", unit="batch", leave=False)
        for images, targets in progress:
            images = images.contiguous(memory_format=torch.channels_last)
            logits = model(images)
            loss = F.cross_entropy(logits, targets, label_smoothing=args.label_smoothing)
            if teacher is not None:
                with torch.no_grad():
                    teacher_input = images if teacher_meta["input_size"] == size else F.interpolate(
                        images, size=teacher_meta["input_size"], mode="bilinear", antialias=True)
                    teacher_logits = teacher(teacher_input)
                loss = (1 - args.kd_alpha) * loss + args.kd_alpha * distillation_loss(
                    logits, teacher_logits, args.kd_temperature)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            total_loss, batches = total_loss + loss.item(), batches + 1
            progress.set_postfix(loss=f"{total_loss / batches:.4f}", lr=f"{scheduler.get_last_lr()[0]:.2e}")

        probabilities = torch_probabilities(model, val_set.images, size)
        report = classification_report(val_set.labels, probabilities.argmax(1))
        epoch_record = {"epoch": epoch + 1, "train_loss": total_loss / max(batches, 1),
                        "val_macro_f1": report["macro_f1"],
                        "val_f1": {k: v["f1"] for k, v in report["per_class"].items()},
                        "seconds": time.time() - started}
        record["epochs"].append(epoch_record)
        record["wall_seconds"] += epoch_record["seconds"]
        if record["best"] is None or report["macro_f1"] > record["best"]["val_macro_f1"]:
            record["best"] = epoch_record
            save_checkpoint(out / "best.pt", model, args.model, val=report, epoch=epoch + 1,
                            distilled_from=str(args.teacher) if args.teacher else None)
        log.info("epoch %d: loss %.4f, val macro-F1 %.4f (%s), %.0f s", epoch + 1, epoch_record["train_loss"],
                 report["macro_f1"], ", ".join(f"{k} {v:.3f}" for k, v in epoch_record["val_f1"].items()),
                 epoch_record["seconds"])
        torch.save({"state_dict": model.state_dict(), "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(), "record": record, "epoch": epoch,
                    "rng": torch.get_rng_state(), "sampler_rng": sampler.generator.get_state()}, out / "last.pt")
        (out / "run.json").write_text(json.dumps(record, indent=2))
    return record


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    record = train(parse_args(argv))
    best = record["best"]
    print(f"best epoch {best['epoch']}: val macro-F1 {best['val_macro_f1']:.4f}; "
          f"{record['wall_seconds'] / 60:.1f} min")


if __name__ == "__main__":
    main()
