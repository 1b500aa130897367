"""Every image decoded and resized once, so that training epochs on 2 cores are not bound by JPEG decoding: a
memory-mapped uint8 [N, S, S, 3] `.npy` per sample list and size, keyed by the files' contents, resumable, so
that HaGRID in full (554,800 images, ~27 GB of crops) never has to fit in RAM; unreadable images are skipped.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import random
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from multiprocessing import Pool
from pathlib import Path

import numpy as np
from numpy.lib.format import open_memmap
from PIL import Image
from tqdm import tqdm

from runtime.paths import cache_dir
from training.datasets import Sample
from training.gestures import CACHE_SIZE, LABELS

CACHE_FORMAT = 1
HAGRID_BOX_EXPANSION = (1.0, 1.3)
"""A HaGRID hand box is grown by a random factor in this range before cutting, like a detector's looser box."""

CHECKPOINT_EVERY = 2048
"""Images decoded between two saves of a build's progress: the most work an interruption loses."""

COPY_ROWS = 4096
"""Rows copied at a time when a finished build drops its unreadable images (200 MB at 128 px)."""

PARALLEL_HASH_FROM = 2000
"""From this many samples on, file contents are hashed by a process pool."""

log = logging.getLogger(__name__)


@dataclass
class CachedImages:
    """Decoded images with integer labels (indices into the label set they were loaded with) and the paths they
    came from. From the cache, `images` is a read-only memory map: copy what is to be changed."""

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


def cache_key(samples: list[Sample], size: int, labels: Sequence[str] = LABELS) -> str:
    """A digest of the label set, the samples' paths, labels, boxes and file contents: a fresh copy of the same data
    (new modification times) reuses the cache, an edited image rebuilds it. The digest is remembered under the files'
    sizes and modification times, so that a launch on unchanged data reads no image (hashing HaGRID takes hours)."""
    # stats taken before the contents are read: a file edited meanwhile leaves its new stats unaliased
    alias = cache_dir() / f"{_digest(samples, size, labels, map(_file_stats, samples))}.alias"
    if alias.is_file():
        return alias.read_text()
    key = _content_key(samples, size, labels)
    try:
        alias.parent.mkdir(parents=True, exist_ok=True)
        _write_atomically(alias, key)
    except OSError as error:  # a read-only cache still works, it just hashes every time
        log.debug("cannot remember the cache key in %s: %s", alias, error)
    return key


def load_cached(samples: list[Sample], size: int = CACHE_SIZE, workers: int | None = None,
                desc: str = "decoding", labels: Sequence[str] = LABELS) -> CachedImages:
    """Decoded images for `samples` (labelled in `labels`), memory-mapped read-only from the cache; built first (or
    its interrupted build finished) when it is not there."""
    key = cache_key(samples, size, labels)
    folder = cache_dir()
    array_file, index_file = folder / f"{key}.npy", folder / f"{key}.json"
    if not (array_file.is_file() and index_file.is_file()):
        folder.mkdir(parents=True, exist_ok=True)
        with _exclusive(folder / f"{key}.lock"):
            if not (array_file.is_file() and index_file.is_file()):
                _build(samples, size, folder, key, workers, desc, labels)
    index = json.loads(index_file.read_text())
    cached = CachedImages(np.load(array_file, mmap_mode="r"), np.asarray(index["labels"], dtype=np.int64),
                          index["paths"], index["skipped"])
    if cached.skipped:
        log.warning("skipped %d unreadable image(s), e.g. %s", len(cached.skipped), cached.skipped[0])
    return cached


def _file_stats(sample: Sample) -> str:
    """The file's size and modification time: what an edit changes, read without opening the file."""
    try:
        stat = sample.path.stat()
    except OSError:
        return "missing"
    return f"{stat.st_size}|{stat.st_mtime_ns}"


def _file_digest(sample: Sample) -> str:
    """The SHA-1 of the file's contents (streamed: HaGRID frames are megabytes), or "missing"."""
    try:
        with sample.path.open("rb") as f:
            return hashlib.file_digest(f, "sha1").hexdigest()
    except OSError:
        return "missing"


def _digest(samples: list[Sample], size: int, labels: Sequence[str], stamps: Iterable[str]) -> str:
    """The key of the samples, each with its file's stamp (its contents' digest, or its size and time). The label
    set, which the integer labels index, joins the key unless it is the shipped one (whose caches predate sets)."""
    label_set = "" if tuple(labels) == LABELS else ":" + ",".join(labels)
    digest = hashlib.sha1(f"{CACHE_FORMAT}:{size}{label_set}".encode())
    for s, stamp in zip(samples, stamps, strict=True):
        digest.update(f"{s.path}|{s.label}|{s.box}|{stamp}\n".encode())
    return digest.hexdigest()[:20]


def _content_key(samples: list[Sample], size: int, labels: Sequence[str]) -> str:
    """The key from the files' contents, hashed by a pool when there are many; `imap` keeps the order, so the key
    is the one a single process gets."""
    if len(samples) <= PARALLEL_HASH_FROM:
        return _digest(samples, size, labels, map(_file_digest, samples))
    with Pool() as pool:
        stamps = pool.imap(_file_digest, samples, chunksize=256)
        return _digest(samples, size, labels, tqdm(stamps, total=len(samples), desc="hashing images", unit="img",
                                           leave=False))


@contextmanager
def _exclusive(lock_file: Path) -> Iterator[None]:
    """One build of a cache at a time: processes launched together (one per GPU, say) wait for the first one's."""
    with lock_file.open("a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info("waiting for another process to build %s", lock_file.stem)
            fcntl.flock(f, fcntl.LOCK_EX)
        yield


def _build(samples: list[Sample], size: int, folder: Path, key: str, workers: int | None, desc: str,
           labels: Sequence[str]) -> None:
    """Decode `samples` into `{key}.npy` and its index `{key}.json`, through a memory-mapped `{key}.partial.npy`
    whose progress is saved as it goes, so that an interrupted build picks up where it stopped."""
    partial_file, progress_file = folder / f"{key}.partial.npy", folder / f"{key}.partial.json"
    done, skipped = 0, []
    if partial_file.is_file() and progress_file.is_file():
        progress = json.loads(progress_file.read_text())
        done, skipped = progress["done"], progress["skipped"]
        images = open_memmap(partial_file, mode="r+")
        log.info("%s: resuming an interrupted build, %d of %d images already decoded", desc, done, len(samples))
    else:
        images = open_memmap(partial_file, mode="w+", dtype=np.uint8, shape=(len(samples), size, size, 3))
    with Pool(workers or os.cpu_count() or 1) as pool:
        results = pool.imap(partial(decode, size=size), samples[done:], chunksize=64)
        bar = tqdm(results, total=len(samples), initial=done, desc=desc, unit="img", leave=False)
        for i, image in enumerate(bar, start=done):
            if image is None:
                skipped.append(i)
            else:
                images[i] = image
            if (i + 1) % CHECKPOINT_EVERY == 0:
                _save_progress(images, progress_file, i + 1, skipped)
    _save_progress(images, progress_file, len(samples), skipped)
    kept = np.setdiff1d(np.arange(len(samples)), skipped)
    if skipped:
        _copy_rows(images, kept, folder / f"{key}.npy")
        partial_file.unlink()
    else:
        os.replace(partial_file, folder / f"{key}.npy")
    _write_atomically(folder / f"{key}.json", json.dumps({
        "labels": [labels.index(samples[i].label) for i in kept], "paths": [str(samples[i].path) for i in kept],
        "skipped": [str(samples[i].path) for i in skipped]}))
    progress_file.unlink()


def _save_progress(images: np.memmap, progress_file: Path, done: int, skipped: list[int]) -> None:
    """The decoded rows flushed to disk, then the count of leading samples finished: progress never claims a row
    that is not written."""
    images.flush()
    _write_atomically(progress_file, json.dumps({"done": done, "skipped": skipped}))


def _copy_rows(source: np.ndarray, rows: np.ndarray, target: Path) -> None:
    """`source[rows]` into a new `.npy` file, `COPY_ROWS` at a time, so that the array is never all in RAM."""
    out = open_memmap(target, mode="w+", dtype=source.dtype, shape=(len(rows), *source.shape[1:]))
    for start in range(0, len(rows), COPY_ROWS):
        out[start:start + COPY_ROWS] = source[rows[start:start + COPY_ROWS]]
    out.flush()


def _write_atomically(path: Path, text: str) -> None:
    """Readers see the old file or the whole new one, never part of it (a temporary name per process, as two
    processes may write the same file)."""
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text)
    os.replace(temporary, path)
