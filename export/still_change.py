"""How much a still hand's signature moves under camera noise (sensor noise, then JPEG), and how much a hand moved
by a few pixels moves it, as percentiles on training photos: `PipelineSettings.still_change` must sit between
(docs/decisions.md#still-hand-threshold).

    python -m export.still_change
"""

from __future__ import annotations

import argparse
import io
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from runtime.images import read_rgb
from runtime.paths import classifier_model, data_dir, landmark_model, palm_model
from runtime.pipeline import GesturePipeline
from runtime.settings import PipelineSettings
from runtime.tracking import signature
from training.datasets import load_samples

NOISES = ((3, 85), (6, 75), (10, 60))
"""(sensor noise standard deviation of 255, JPEG quality): a good webcam, an ordinary one, a dim room."""
SHIFTS = (1, 2, 4, 8)
"""Pixels a hand moves between two frames."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=data_dir())
    p.add_argument("--split", choices=("train", "val"), default="train")
    p.add_argument("--photos", type=int, default=200, help="photos with a hand to measure on")
    p.add_argument("--signature-size", type=int, help="signature side to try (default: the pipeline's)")
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


def camera_noise(image: np.ndarray, std: float, quality: int, rng: np.random.Generator) -> np.ndarray:
    noisy = np.clip(image + rng.normal(0, std, image.shape), 0, 255).astype(np.uint8)
    encoded = io.BytesIO()
    Image.fromarray(noisy).save(encoded, "JPEG", quality=quality)
    return np.asarray(Image.open(encoded).convert("RGB"))


def largest_change(first: np.ndarray, second: np.ndarray, box: tuple[int, int, int, int],
                   settings: PipelineSettings) -> int:
    return int(np.abs(signature(first, box, settings) - signature(second, box, settings)).max())


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    pipeline = GesturePipeline(palm_model(), landmark_model(), classifier_model())
    settings = replace(pipeline.settings, signature_size=args.signature_size or pipeline.settings.signature_size)
    rng = np.random.default_rng(args.seed)
    changes: dict[str, list[int]] = {}
    measured = 0
    samples = load_samples(args.data, args.split, "frame")
    for sample in tqdm([samples[i] for i in rng.permutation(len(samples))], desc="photos", leave=False):
        image = read_rgb(sample.path)
        hands = pipeline.hands(image)
        if not hands:
            continue
        box = hands[0].box
        reference = camera_noise(image, *NOISES[1], rng)
        height, width = image.shape[:2]
        side = max(width, height)
        frame = (-((side - width) // 2), -((side - height) // 2), side - (side - width) // 2,
                 side - (side - height) // 2)  # the letterboxed frame's square, as the detector's first view
        for std, quality in NOISES:
            pair = camera_noise(image, std, quality, rng), camera_noise(image, std, quality, rng)
            changes.setdefault(f"still, noise {std} + JPEG {quality}", []).append(largest_change(*pair, box, settings))
            changes.setdefault(f"whole frame, noise {std} + JPEG {quality}", []).append(
                largest_change(*pair, frame, settings))
        for shift in SHIFTS:
            moved = camera_noise(np.roll(image, shift, axis=1), *NOISES[1], rng)
            changes.setdefault(f"moved {shift} px", []).append(largest_change(moved, reference, box, settings))
        measured += 1
        if measured == args.photos:
            break
    print(f"{measured} hands in {args.split} photos; signature {settings.signature_size} x {settings.signature_size}; "
          f"largest change per pair (of 255), percentiles 5 / 50 / 95 / 100:")
    for name, values in changes.items():
        print(f"{name:34} " + " / ".join(f"{v:5.1f}" for v in np.percentile(values, [5, 50, 95, 100])))


if __name__ == "__main__":
    main()
