"""Decode and resize every image once, so that training epochs on 2 cores are not bound by JPEG decoding.

The cache is a uint8 array [N, S, S, 3] per (sample list, size), stored under
`$GESTURE_REACTIONS_CACHE` (default `~/.cache/gesture-reactions`) and keyed by the samples'
paths, labels, boxes and file contents, so editing the data rebuilds it.
A crop is the hand box stretched to S x S (never rotated: orientation separates 👍 from 👎).
Unreadable images are skipped, counted and reported, never a crash.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
from dataclasses import dataclass, field
from functools import partial
from multiprocessing import Pool

import numpy as np
from PIL import Image
from tqdm import tqdm

from runtime.paths import cache_dir
from training.datasets import Sample
from training.gestures import CACHE_SIZE, LABELS

CACHE_FORMAT = 1
HAGRID_BOX_EXPANSION = (1.0, 1.3)
"""A HaGRID hand box is grown by a random factor in this range before cutting, like a detector's looser box."""

log = logging.getLogger(__name__)


@dataclass
class CachedImages:
    """Decoded images with integer labels (indices into LABELS) and the paths they came from."""

    images: np.ndarray
    labels: np.ndarray
    paths: list[str]
    skipped: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.labels)


def crop_box(width: int, height: int, box: tuple[float, float, float, float], seed: str) -> tuple[int, int, int, int]:
    """Pixel box (left, top, right, bottom) around a normalised [x, y, w, h] box, grown by a seeded random factor."""
    grow = random.Random(seed).uniform(*HAGRID_BOX_EXPANSION)
    x, y, w, h = box
    cx, cy = (x + w / 2) * width, (y + h / 2) * height
    half_w, half_h = w * width * grow / 2, h * height * grow / 2
    left, top = max(0, round(cx - half_w)), max(0, round(cy - half_h))
    right, bottom = min(width, round(cx + half_w)), min(height, round(cy + half_h))
    return left, top, max(right, left + 1), max(bottom, top + 1)


def decode(sample: Sample, size: int = CACHE_SIZE) -> np.ndarray | None:
    """The sample as a uint8 [size, size, 3] RGB array, or None if the file cannot be read."""
    try:
        with Image.open(sample.path) as image:
            image = image.convert("RGB")
            if sample.box is not None:
                image = image.crop(crop_box(image.width, image.height, sample.box, f"{sample.path}{sample.box}"))
            return np.asarray(image.resize((size, size), Image.Resampling.BILINEAR), dtype=np.uint8)
    except (OSError, ValueError, SyntaxError) as error:
        log.debug("cannot read %s: %s", sample.path, error)
        return None


def cache_key(samples: list[Sample], size: int) -> str:
    """A digest of the samples' paths, labels, boxes and file contents: a fresh copy of the same data (new
    modification times) reuses the cache, an edited image rebuilds it."""
    digest = hashlib.sha1(f"{CACHE_FORMAT}:{size}".encode())
    for s in samples:
        try:
            stamp = hashlib.sha1(s.path.read_bytes()).hexdigest()
        except OSError:
            stamp = "missing"
        digest.update(f"{s.path}|{s.label}|{s.box}|{stamp}\n".encode())
    return digest.hexdigest()[:20]


def load_cached(samples: list[Sample], size: int = CACHE_SIZE, workers: int | None = None,
                desc: str = "decoding") -> CachedImages:
    """Decoded images for `samples`, from the cache when it is there, else decoded now and stored."""
    key = cache_key(samples, size)
    folder = cache_dir()
    array_file, index_file = folder / f"{key}.npy", folder / f"{key}.json"
    if array_file.is_file() and index_file.is_file():
        index = json.loads(index_file.read_text())
        cached = CachedImages(np.load(array_file), np.asarray(index["labels"], dtype=np.int64),
                              index["paths"], index["skipped"])
    else:
        cached = _decode_all(samples, size, workers, desc)
        folder.mkdir(parents=True, exist_ok=True)
        np.save(array_file, cached.images)
        index_file.write_text(json.dumps({"labels": cached.labels.tolist(), "paths": cached.paths,
                                          "skipped": cached.skipped}))
    if cached.skipped:
        log.warning("skipped %d unreadable image(s), e.g. %s", len(cached.skipped), cached.skipped[0])
    return cached


def _decode_all(samples: list[Sample], size: int, workers: int | None, desc: str) -> CachedImages:
    images = np.empty((len(samples), size, size, 3), dtype=np.uint8)
    kept, skipped = [], []
    workers = workers or os.cpu_count() or 1
    with Pool(workers) as pool:
        results = pool.imap(partial(decode, size=size), samples, chunksize=64)
        for i, image in enumerate(tqdm(results, total=len(samples), desc=desc, unit="img", leave=False)):
            if image is None:
                skipped.append(str(samples[i].path))
            else:
                images[len(kept)] = image
                kept.append(i)
    return CachedImages(images[: len(kept)].copy(), np.asarray([LABELS.index(samples[i].label) for i in kept],
                                                              dtype=np.int64),
                        [str(samples[i].path) for i in kept], skipped)
