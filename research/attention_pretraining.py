"""Pretrain AttentionHGR's two attention stages on where the hand is (the plan's "better starting point for the
attention modules"): training crops pasted into `none` frames, each stage's attention map trained towards the
hand's mask drawn from its landmarks; then train it for the gestures from there.

    python -m research.attention_pretraining --epochs 4 --out runs/attention_hgr-located
    python -m training.train --model attention_hgr --init runs/attention_hgr-located/pretrained.pt ...
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw, ImageFilter
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from runtime.paths import data_dir, landmark_model
from training.cache import crop_box, load_cached
from training.checkpoint import save_checkpoint
from training.crop_landmarks import MIN_PRESENCE, landmarks_of_crops
from training.datasets import Sample, load_samples
from training.models import ARCHITECTURES, build_model
from training.models.attention_hgr import AttentionHGR
from training.pipeline_crops import context_frames
from training.transforms import normalize

log = logging.getLogger("research.attention_pretraining")

HAND_BONES = ((0, 1), (1, 2), (2, 3), (3, 4), (0, 5), (5, 6), (6, 7), (7, 8), (5, 9), (9, 10), (10, 11), (11, 12),
              (9, 13), (13, 14), (14, 15), (15, 16), (13, 17), (0, 17), (17, 18), (18, 19), (19, 20))
"""The 21 landmarks' skeleton: wrist 0, thumb 1-4, index 5-8, middle 9-12, ring 13-16, little finger 17-20."""

PALM = (0, 1, 5, 9, 13, 17)
"""The landmarks around the palm, filled in the mask."""

BONE_WIDTH = 0.12
"""A bone's thickness in the mask, as a share of the hand's extent (a finger is about that wide)."""

HAND_SHARE = (0.45, 0.9)
"""The pasted crop's side as a share of the input's: from a loose box around a palm to an almost tight one."""


def hand_mask(points: np.ndarray, size: int) -> Image.Image:
    """The hand's mask ("L", size x size) from its landmarks [21, 2] in that image's pixels."""
    mask = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(mask)
    extent = float(np.ptp(points, axis=0).max())
    width = max(1, round(extent * BONE_WIDTH))
    draw.polygon([tuple(points[i]) for i in PALM], fill=255)
    for a, b in HAND_BONES:
        draw.line([tuple(points[a]), tuple(points[b])], fill=255, width=width)
    for point in points:
        radius = width / 2
        draw.ellipse([point[0] - radius, point[1] - radius, point[0] + radius, point[1] + radius], fill=255)
    return mask


def native_size(sample: Sample) -> tuple[int, int]:
    """The crop's width and height before the cache resized it: the landmarks are in these pixels."""
    with Image.open(sample.path) as image:
        if sample.box is None:
            return image.size
        left, top, right, bottom = crop_box(image.width, image.height, sample.box, f"{sample.path}{sample.box}")
    return right - left, bottom - top


class LocatedHands(Dataset):
    """Crops pasted into background regions at `size` px, with the hand's mask: (normalised image, mask [1, S, S])."""

    def __init__(self, crops: np.ndarray, points: np.ndarray, backgrounds: np.ndarray, size: int,
                 fixed_seed: int | None = None) -> None:
        self.crops, self.points, self.backgrounds, self.size = crops, points, backgrounds, size
        self.fixed_seed = fixed_seed
        self.normalize = normalize()

    def __len__(self) -> int:
        return len(self.crops)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        rng = random.Random(self.fixed_seed * 1_000_003 + index) if self.fixed_seed is not None else random
        image, mask = self.paste(index, rng)
        pixels = torch.from_numpy(np.array(image)).permute(2, 0, 1)
        return self.normalize(pixels), torch.from_numpy(np.array(mask, dtype=np.float32) / 255.0)[None]

    def paste(self, index: int, rng: random.Random) -> tuple[Image.Image, Image.Image]:
        """The crop at a random scale, place and mirroring, feathered into a random background; and its mask."""
        size, crop = self.size, Image.fromarray(np.asarray(self.crops[index]))
        side = round(size * rng.uniform(*HAND_SHARE))
        left, top = rng.randrange(size - side + 1), rng.randrange(size - side + 1)
        points = self.points[index] * (side / crop.width) + (left, top)
        canvas = Image.fromarray(np.asarray(self.backgrounds[rng.randrange(len(self.backgrounds))])).resize(
            (size, size), Image.Resampling.BILINEAR)
        edge = max(1, side // 16)
        feather = Image.new("L", (side, side), 0)
        feather.paste(255, (edge, edge, side - edge, side - edge))
        canvas.paste(crop.resize((side, side), Image.Resampling.BILINEAR), (left, top),
                     feather.filter(ImageFilter.GaussianBlur(edge / 2)))
        # what the landmark model placed beyond the crop's edges is not in the picture
        mask = Image.new("L", (size, size), 0)
        mask.paste(hand_mask(points, size).crop((left, top, left + side, top + side)), (left, top))
        if rng.random() < 0.5:
            return canvas.transpose(Image.Transpose.FLIP_LEFT_RIGHT), mask.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        return canvas, mask


def attention_maps(model: AttentionHGR, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Each stage's attention map [N, 1, H, W]: the mean over its channels of the attention module's sigmoid mask."""
    first = model.stage1.attention(images)
    stage1 = model.stage1.features(images) * first
    second = model.stage2.attention(torch.cat([model.image_pool(images), stage1], dim=1))
    return first.mean(1, keepdim=True), second.mean(1, keepdim=True)


def location_loss(model: AttentionHGR, images: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy of both attention maps against the mask, brought to each map's resolution."""
    total = images.new_zeros(())
    for attention in attention_maps(model, images):
        target = F.interpolate(masks, size=attention.shape[-2:], mode="area")
        total = total + F.binary_cross_entropy(attention.clamp(1e-6, 1 - 1e-6), target)
    return total


@torch.no_grad()
def mask_iou(model: AttentionHGR, loader: DataLoader) -> tuple[float, float]:
    """Mean IoU of each stage's attention map (above 0.5) with the mask (above 0.5), over the loader."""
    model.eval()
    scores: list[list[float]] = [[], []]
    for images, masks in loader:
        for stage, attention in enumerate(attention_maps(model, images)):
            target = F.interpolate(masks, size=attention.shape[-2:], mode="area") > 0.5
            found = attention > 0.5
            union = (found | target).flatten(1).sum(1).clamp(min=1)
            scores[stage] += ((found & target).flatten(1).sum(1) / union).tolist()
    return float(np.mean(scores[0])), float(np.mean(scores[1]))


def located_crops(data: Path, split: str, limit: int | None, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The cached crops of `split` whose landmarks were found, with those landmarks [N, 21, 2] in cache pixels."""
    samples = load_samples(data, split)
    if limit is not None and limit < len(samples):
        samples = random.Random(seed).sample(samples, limit)
    cached = load_cached(samples, desc=f"decoding {split}")
    readable = set(cached.paths)
    samples = [s for s in samples if str(s.path) in readable]
    marks = landmarks_of_crops(samples, landmark_model(), desc=f"landmarks {split}")
    keep = np.flatnonzero(marks.presence >= MIN_PRESENCE)
    side = cached.images.shape[1]
    points = np.stack([marks.points[i, :, :2] * (side / np.asarray(native_size(samples[i]))) for i in keep])
    log.info("%s: landmarks found in %d of %d crops", split, len(keep), len(samples))
    return np.asarray(cached.images[keep]), points.astype(np.float32)


def backgrounds(data: Path) -> np.ndarray:
    """Training `none` frames (the context half, as the pipeline-cut inputs use), decoded once."""
    frames = context_frames(data)
    if not frames:
        raise SystemExit(f"{data}: no training none frames to paste the hands into")
    return load_cached(frames, desc="decoding backgrounds").images


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=data_dir())
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--limit", type=int, help="use at most this many training and validation crops")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--out", type=Path, default=Path("runs/attention_hgr-located"))
    return p.parse_args(argv)


def pretrain(args: argparse.Namespace) -> dict:
    """Train the two stages on the location loss; `pretrained.pt` (a whole AttentionHGR, for `--init`) and
    `run.json` land in `--out`."""
    torch.manual_seed(args.seed)
    random.seed(args.seed)
    size = ARCHITECTURES["attention_hgr"].input_size
    scenes = backgrounds(args.data)
    train_set = LocatedHands(*located_crops(args.data, "train", args.limit, args.seed), scenes, size)
    val_set = LocatedHands(*located_crops(args.data, "val", args.limit, args.seed), scenes, size, fixed_seed=0)
    loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True, num_workers=args.workers,
                        drop_last=True)
    val_loader = DataLoader(val_set, batch_size=args.batch_size, num_workers=args.workers)
    model = build_model("attention_hgr")
    stages = [*model.stage1.parameters(), *model.stage2.parameters()]
    optimizer = torch.optim.AdamW(stages, lr=args.lr, weight_decay=0.02)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, args.lr, total_steps=args.epochs * len(loader) + 1)
    record = {"config": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
              "train_crops": len(train_set), "val_crops": len(val_set), "epochs": []}
    args.out.mkdir(parents=True, exist_ok=True)
    for epoch in range(args.epochs):
        started, total = time.time(), 0.0
        model.train()
        for images, masks in tqdm(loader, desc=f"epoch {epoch + 1}/{args.epochs}", leave=False):
            loss = location_loss(model, images, masks)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            total += loss.item()
        first, second = mask_iou(model, val_loader)
        record["epochs"].append({"epoch": epoch + 1, "train_loss": total / max(len(loader), 1),
                                 "val_iou_stage1": first, "val_iou_stage2": second, "seconds": time.time() - started})
        log.info("epoch %d: loss %.4f, validation mask IoU %.3f (stage 1), %.3f (stage 2)", epoch + 1,
                 record["epochs"][-1]["train_loss"], first, second)
        save_checkpoint(args.out / "pretrained.pt", model, "attention_hgr", pretrained_on="hand location")
        (args.out / "run.json").write_text(json.dumps(record, indent=2))
    return record


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    record = pretrain(parse_args(argv))
    last = record["epochs"][-1]
    print(f"mask IoU on pasted validation crops: {last['val_iou_stage1']:.3f} (stage 1), "
          f"{last['val_iou_stage2']:.3f} (stage 2)")


if __name__ == "__main__":
    main()
