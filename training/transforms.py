"""Augmentation (training) and preprocessing (evaluation) on uint8 CHW crops from the cache.

Run-time crops come from a palm detector, not from a human annotator, so the box is jittered in
scale and position. Horizontal flips keep every label (a left-hand 👍 is still 👍); vertical flips
and large rotations would turn 👍 into 👎, so rotations stay within ±10 degrees.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torchvision.transforms import v2

from training.gestures import MEAN, STD


def normalize(mean: Sequence[float] = MEAN, std: Sequence[float] = STD) -> v2.Compose:
    return v2.Compose([v2.ToDtype(torch.float32, scale=True), v2.Normalize(list(mean), list(std))])


def train_transform(size: int) -> v2.Compose:
    """Box jitter and scale, colour jitter, grayscale, blur and horizontal flip."""
    return v2.Compose([
        # mostly looser boxes (a detector's box is rarely tighter than an annotator's), a little tighter:
        # cropping much tighter would cut off the thumb that tells 👍 from a fist
        v2.RandomResizedCrop(size, scale=(0.8, 1.0), ratio=(0.8, 1.25), antialias=True),
        v2.RandomApply([v2.RandomAffine(degrees=10, translate=(0.08, 0.08), scale=(0.75, 1.05), fill=127)], p=0.6),
        v2.RandomHorizontalFlip(),
        v2.RandomApply([v2.ColorJitter(brightness=0.4, contrast=0.4, saturation=0.4)], p=0.8),
        v2.RandomGrayscale(p=0.1),
        v2.RandomApply([v2.GaussianBlur(5, sigma=(0.1, 1.5))], p=0.2),
        normalize(),
    ])


def eval_transform(size: int, mean: Sequence[float] = MEAN, std: Sequence[float] = STD) -> v2.Compose:
    """The whole cached crop, resized to the model's input: what the browser does with a hand box."""
    return v2.Compose([v2.Resize((size, size), antialias=True), normalize(mean, std)])
