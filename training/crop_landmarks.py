"""Every training crop's 21 hand landmarks, found as MediaPipe's tracking would look (a square of 1.8 crop sides, four
turns, then around its own landmarks) and cached: the inputs of the pose encoder and of the research on landmarks.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from functools import partial
from multiprocessing import Pool
from pathlib import Path

import numpy as np
import onnx
from PIL import Image
from tqdm import tqdm

from runtime.hand_landmarks import NUM_LANDMARKS, HandLandmarker, RegionOfInterest
from runtime.images import read_rgb
from runtime.paths import cache_dir
from training.cache import cache_key, crop_box
from training.datasets import Sample
from training.perturbations import perturb

FIRST_LOOK = 1.8
"""The first region's side over the crop's long side: the hand box grown as MediaPipe grows a tracked hand's."""

FIRST_LOOK_TURNS = (0.0, math.pi / 2, math.pi, -math.pi / 2)
"""The first looks' rotations: a crop has no palm to say which way the hand points
(docs/decisions.md#four-turns-to-find-a-crops-landmarks)."""

MIN_PRESENCE = 0.5
"""A crop's landmarks count when the landmark model's presence reaches this (the pipeline cuts hands from 0.5)."""


def native_crop(sample: Sample) -> np.ndarray:
    """The hand crop at its own resolution: the file, or its box in a HaGRID frame (grown as `training.cache`)."""
    image = read_rgb(sample.path)
    if sample.box is None:
        return image
    box = crop_box(image.shape[1], image.shape[0], sample.box, f"{sample.path}{sample.box}")
    return image[box[1]:box[3], box[0]:box[2]]


def crop_landmarks(landmarker: HandLandmarker, crop: np.ndarray) -> tuple[np.ndarray, float]:
    """The landmarks [21, 3] in the crop's pixels and their presence score, from two looks (see the module)."""
    height, width = crop.shape[:2]
    picture = Image.fromarray(crop)
    side = FIRST_LOOK * max(width, height)
    first = max((landmarker(picture, RegionOfInterest(width / 2, height / 2, side, turn)) for turn in FIRST_LOOK_TURNS),
                key=lambda look: look.presence)
    second = landmarker(picture, landmarker.around_hand(first.points))
    return second.points.astype(np.float32), second.presence


@dataclass(frozen=True)
class CropLandmarks:
    """Landmarks [N, 21, 3] and presence [N] per sample; NaN for an unreadable image."""

    points: np.ndarray
    presence: np.ndarray


_worker: HandLandmarker | None = None


def _start_worker(model: Path) -> None:
    global _worker
    _worker = HandLandmarker(model, threads=1)


def _landmarks_of(task: tuple[int, Sample], perturbation: str | None, seed: int) -> tuple[np.ndarray, float]:
    index, sample = task
    try:
        crop = native_crop(sample)
    except (OSError, ValueError, SyntaxError):
        return np.full((NUM_LANDMARKS, 3), np.nan, np.float32), float("nan")
    if perturbation is not None:
        crop = perturb(crop, perturbation, max(crop.shape[:2]), seed, index)
    return crop_landmarks(_worker, crop)


def landmarks_of_crops(samples: list[Sample], model: Path, perturbation: str | None = None, seed: int = 0,
                       workers: int = 2, desc: str = "landmarks") -> CropLandmarks:
    """Every sample's landmarks, from the cache when they are there (keyed by the samples, the model's graph and
    the perturbation: not its metadata, which the pose encoder's weights travel in), else computed now on `workers`
    processes and stored."""
    model_digest = hashlib.sha1(onnx.load(model).graph.SerializeToString()).hexdigest()[:12]
    key = f"landmarks-{cache_key(samples, 0)}-{model_digest}-{perturbation or 'clean'}-{seed}"
    path = cache_dir() / f"{key}.npz"
    if path.is_file():
        stored = np.load(path)
        return CropLandmarks(stored["points"], stored["presence"])
    with Pool(workers, initializer=_start_worker, initargs=(model,)) as pool:
        found = list(tqdm(pool.imap(partial(_landmarks_of, perturbation=perturbation, seed=seed),
                                    enumerate(samples), chunksize=32),
                          total=len(samples), desc=desc, unit="crop", leave=False))
    result = CropLandmarks(np.stack([points for points, _ in found]),
                           np.asarray([presence for _, presence in found], dtype=np.float32))
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, points=result.points, presence=result.presence)
    return result
