"""Augmentation (training) and preprocessing (evaluation) on uint8 CHW crops from the cache: box jitter, flips
left-right only and rotations within ±10 degrees (👍 must not become 👎), a call webcam's degradations (`webcam`),
and `webcam-vs-clean` pairs for distillation (the student sees the degraded crop, the teacher the clean one).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.transforms import v2

from runtime.exposure import expose_bright_crop
from runtime.settings import PipelineSettings
from training.gestures import MEAN, STD

MOTION_BLUR_LENGTH = (3, 11)
"""Length in pixels (at the 112 px input) of the line a hand travels during the exposure."""

WHITE_BALANCE_SHIFT = 0.25
"""Largest red/blue gain shift: 1.25 x red and 0.75 x blue is a tungsten-lit room on a daylight setting."""


def normalize(mean: Sequence[float] = MEAN, std: Sequence[float] = STD) -> v2.Compose:
    return v2.Compose([v2.ToDtype(torch.float32, scale=True), v2.Normalize(list(mean), list(std))])


class RandomMotionBlur(nn.Module):
    """A straight motion blur of random length and angle (torchvision has no motion blur)."""

    def __init__(self, length: tuple[int, int] = MOTION_BLUR_LENGTH) -> None:
        super().__init__()
        self.length = length

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        length = random.randint(*self.length)
        kernel = line_kernel(length, random.uniform(0, math.pi))
        channels = image.shape[0]
        before, after = length // 2, (length - 1) // 2
        padded = F.pad(image.float()[None], [before, after, before, after], mode="replicate")
        blurred = F.conv2d(padded, kernel.expand(channels, 1, -1, -1), groups=channels)[0]
        return blurred.round().clamp(0, 255).to(image.dtype)


def line_kernel(length: int, angle: float) -> torch.Tensor:
    """A [1, 1, L, L] kernel, a line of `length` pixels through the centre at `angle` radians, summing to 1."""
    kernel = torch.zeros(length, length)
    centre = (length - 1) / 2
    for t in torch.linspace(-centre, centre, 4 * length):
        kernel[round(centre + float(t) * math.sin(angle)), round(centre + float(t) * math.cos(angle))] = 1.0
    return (kernel / kernel.sum())[None, None]


class RandomWhiteBalance(nn.Module):
    """Red and blue gains moved in opposite directions, green a little: a camera's white balance off by up to
    `shift` (ColorJitter's hue rotates every colour instead)."""

    def __init__(self, shift: float = WHITE_BALANCE_SHIFT) -> None:
        super().__init__()
        self.shift = shift

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        warm = random.uniform(-self.shift, self.shift)
        gains = torch.tensor([1 + warm, 1 + random.uniform(-0.05, 0.05), 1 - warm]).view(3, 1, 1)
        return (image.float() * gains).round().clamp(0, 255).to(image.dtype)


WASHED_OUT_GAIN = (1.5, 2.2)
"""Brightness gains of `WashedOut`: from a hand lit a little past the camera's exposure to most of it clipped."""


class WashedOut(nn.Module):
    """Every pixel times a gain drawn from `WASHED_OUT_GAIN`, clipped: an over-exposed webcam (ColorJitter's
    brightness draws gains this high too rarely to teach what a washed-out `none` hand is)."""

    def __init__(self, gain: tuple[float, float] = WASHED_OUT_GAIN) -> None:
        super().__init__()
        self.gain = gain

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return (image.float() * random.uniform(*self.gain)).round().clamp(0, 255).to(torch.uint8)


class BrightCropToning(nn.Module):
    """The runtime's toning of an over-exposed crop (`runtime.exposure`) on a uint8 [3, H, W] tensor."""

    def __init__(self, settings: PipelineSettings | None = None) -> None:
        super().__init__()
        settings = settings or PipelineSettings()
        self.above, self.target = settings.bright_crop_luma, settings.bright_crop_target

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        crop = image.permute(1, 2, 0).numpy()
        toned = expose_bright_crop(crop, self.above, self.target)
        return image if toned is crop else torch.from_numpy(toned).permute(2, 0, 1).contiguous()


def standard_transform(size: int, washed_out: float = 0.0) -> v2.Compose:
    """Box jitter and scale, colour jitter, grayscale, blur and horizontal flip."""
    if washed_out:
        raise ValueError("washed-out draws belong to the webcam augmentations")
    return v2.Compose([*_box_and_flip(size), *_colour(brightness=0.4, blur_sigma=1.5), normalize()])


def webcam_transform(size: int, washed_out: float = 0.0) -> v2.Compose:
    """`standard_transform` plus a webcam's degradations, each on a share of the draws."""
    return v2.Compose([
        # a hand 12-48 px across, brought back to `size` by the crop below: a hand across the room
        v2.RandomApply([v2.RandomResize(12, 48, antialias=True)], p=0.25),
        *_box_and_flip(size),
        *_webcam_degradations(washed_out),
    ])


def _webcam_degradations(washed_out: float) -> list[nn.Module]:
    """Blur, exposure, colour, JPEG and sensor noise on a crop already at the input size, then the runtime's
    toning of a washed-out crop and normalisation. `washed_out` draws are over-exposed first (left out at 0, so
    that the random draws of runs without it stay as they were)."""
    return [
        *([v2.RandomApply([WashedOut()], p=washed_out)] if washed_out else []),
        v2.RandomApply([RandomMotionBlur()], p=0.15),
        *_colour(brightness=(0.3, 1.8), blur_sigma=2.5),
        v2.RandomApply([RandomWhiteBalance()], p=0.3),
        v2.RandomApply([v2.JPEG((10, 60))], p=0.25),
        v2.RandomApply([v2.Compose([v2.ToDtype(torch.float32, scale=True), v2.GaussianNoise(sigma=0.03),
                                    v2.ToDtype(torch.uint8, scale=True)])], p=0.2),
        BrightCropToning(),
        normalize(),
    ]


class CleanAndDegraded(nn.Module):
    """One box, scale and flip draw, returned as (degraded for the student, clean for the teacher)."""

    def __init__(self, size: int, washed_out: float = 0.0) -> None:
        super().__init__()
        self.geometry = v2.Compose(_box_and_flip(size))
        self.washed_out = WashedOut()
        self.degraded = v2.Compose([
            # a hand 12-48 px across, scaled back up: a hand across the room
            v2.RandomApply([v2.Compose([v2.RandomResize(12, 48, antialias=True),
                                        v2.Resize((size, size), antialias=True)])], p=0.25),
            *_webcam_degradations(washed_out),
        ])
        self.clean = normalize()

    def forward(self, image: torch.Tensor, wash_out_student: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """`wash_out_student` over-exposes the student's view alone (`WashedOut`) before its degradations."""
        image = self.geometry(image)
        return self.degraded(self.washed_out(image) if wash_out_student else image), self.clean(image)


def _box_and_flip(size: int) -> list[nn.Module]:
    return [
        # mostly looser boxes (a detector's box is rarely tighter than an annotator's), a little tighter:
        # cropping much tighter would cut off the thumb that tells 👍 from a fist
        v2.RandomResizedCrop(size, scale=(0.8, 1.0), ratio=(0.8, 1.25), antialias=True),
        v2.RandomApply([v2.RandomAffine(degrees=10, translate=(0.08, 0.08), scale=(0.75, 1.05), fill=127)], p=0.6),
        v2.RandomHorizontalFlip(),
    ]


def _colour(brightness: float | tuple[float, float], blur_sigma: float) -> list[nn.Module]:
    return [
        v2.RandomApply([v2.ColorJitter(brightness=brightness, contrast=0.4, saturation=0.4)], p=0.8),
        v2.RandomGrayscale(p=0.1),
        v2.RandomApply([v2.GaussianBlur(5, sigma=(0.1, blur_sigma))], p=0.2),
    ]


AUGMENTATIONS: dict[str, Callable[[int, float], nn.Module]] = {
    "standard": standard_transform, "webcam": webcam_transform, "webcam-vs-clean": CleanAndDegraded}
"""Training augmentations by name (`training.train --augment`); `standard` is what every run before had."""

PAIRED_AUGMENTATIONS = ("webcam-vs-clean",)
"""The augmentations that give (student input, teacher input) pairs: they need a teacher."""


def train_transform(size: int, augment: str = "standard", washed_out: float = 0.0) -> nn.Module:
    return AUGMENTATIONS[augment](size, washed_out)


def eval_transform(size: int, mean: Sequence[float] = MEAN, std: Sequence[float] = STD) -> v2.Compose:
    """The whole cached crop, resized to the model's input: what the browser does with a hand box."""
    return v2.Compose([v2.Resize((size, size), antialias=True), normalize(mean, std)])
