"""The decode-once cache: built with unreadable images skipped, loaded memory-mapped, resumed after an
interruption, found by caches written before, and keyed without rereading unchanged files."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from training import cache
from training.cache import cache_key, decode, load_cached
from training.datasets import Sample, load_samples
from training.gestures import CACHE_SIZE, LABELS

DECODED: Path | None = None
"""Where `recording_decode` writes the path of each sample it decodes (set by a test)."""

INTERRUPT_AT: str | None = None
"""The path on which `recording_decode` raises, as an interruption would stop a build (set by a test)."""


def recording_decode(sample: Sample, size: int = CACHE_SIZE) -> np.ndarray | None:
    """`decode`, logging each sample to a file (the pool's workers are other processes) and raising on
    `INTERRUPT_AT`. A module function, so that the workers find it by name."""
    with DECODED.open("a") as f:
        f.write(f"{sample.path}\n")
    if str(sample.path) == INTERRUPT_AT:
        raise RuntimeError("interrupted")
    return decode(sample, size)


def reference_key(samples: list[Sample], size: int) -> str:
    """`cache_key` as it was before the alias, reading every file: what existing caches are filed under."""
    digest = hashlib.sha1(f"{cache.CACHE_FORMAT}:{size}".encode())
    for s in samples:
        try:
            stamp = hashlib.sha1(s.path.read_bytes()).hexdigest()
        except OSError:
            stamp = "missing"
        digest.update(f"{s.path}|{s.label}|{s.box}|{stamp}\n".encode())
    return digest.hexdigest()[:20]


def real_crops(data_dir: Path, count: int) -> list[Sample]:
    """`count` real test crops spread over the split, so that every label is among them."""
    samples = load_samples(data_dir, "test")
    return samples[:: len(samples) // count][:count]


def with_corrupt(samples: list[Sample], folder: Path, at: int) -> list[Sample]:
    corrupt = folder / "corrupt.jpg"
    corrupt.write_bytes(b"\xff\xd8\xff\xe0 not really a JPEG")
    return [*samples[:at], Sample(corrupt, "none"), *samples[at:]]


@pytest.fixture
def cache_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("GESTURE_REACTIONS_CACHE", str(folder))
    return folder


def test_a_build_skips_unreadable_images_and_loads_memory_mapped(
        data_dir: Path, tmp_path: Path, cache_folder: Path, caplog: pytest.LogCaptureFixture) -> None:
    samples = with_corrupt(real_crops(data_dir, 60), tmp_path, at=30)
    readable = samples[:30] + samples[31:]
    with caplog.at_level(logging.WARNING):
        cached = load_cached(samples, workers=2)
    assert cached.skipped == [str(samples[30].path)] and "skipped 1 unreadable" in caplog.text
    assert cached.paths == [str(s.path) for s in readable]
    assert [LABELS[i] for i in cached.labels] == [s.label for s in readable]
    expected = np.stack([decode(s) for s in readable])
    np.testing.assert_array_equal(cached.images, expected)
    assert isinstance(cached.images, np.memmap) and not cached.images.flags.writeable
    key = cache_key(samples, CACHE_SIZE)
    assert sorted(p.name for p in cache_folder.iterdir() if p.suffix != ".alias") == [
        f"{key}.json", f"{key}.lock", f"{key}.npy"]
    np.testing.assert_array_equal(np.load(cache_folder / f"{key}.npy"), expected)  # a plain .npy, as before

    clean = load_cached(readable[:20], workers=2)  # nothing skipped: the partial file becomes the cache
    np.testing.assert_array_equal(clean.images, expected[:20])
    assert not list(cache_folder.glob("*.partial.*"))


def test_an_interrupted_build_resumes_from_its_last_checkpoint(
        data_dir: Path, tmp_path: Path, cache_folder: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    samples = with_corrupt(real_crops(data_dir, 149), tmp_path, at=5)
    here = sys.modules[__name__]
    monkeypatch.setattr(here, "DECODED", tmp_path / "decoded.txt")
    monkeypatch.setattr(here, "INTERRUPT_AT", str(samples[140].path))
    monkeypatch.setattr(cache, "decode", recording_decode)
    monkeypatch.setattr(cache, "CHECKPOINT_EVERY", 24)
    with pytest.raises(RuntimeError, match="interrupted"):
        load_cached(samples, workers=2)
    # the pool decodes 64 at a time: the chunk of samples 128-149 fails whole, so 128 arrive and 120 are saved
    key = cache_key(samples, CACHE_SIZE)
    assert json.loads((cache_folder / f"{key}.partial.json").read_text()) == {"done": 120, "skipped": [5]}
    assert not (cache_folder / f"{key}.json").exists()

    DECODED.unlink()
    monkeypatch.setattr(here, "INTERRUPT_AT", None)
    with caplog.at_level(logging.INFO):
        resumed = load_cached(samples, workers=2)
    assert sorted(DECODED.read_text().splitlines()) == sorted(str(s.path) for s in samples[120:])
    assert "120 of 150 images already decoded" in caplog.text
    assert not list(cache_folder.glob("*.partial.*"))

    monkeypatch.setenv("GESTURE_REACTIONS_CACHE", str(tmp_path / "clean"))
    clean = load_cached(samples, workers=2)
    np.testing.assert_array_equal(resumed.images, clean.images)
    assert (resumed.paths, resumed.skipped) == (clean.paths, clean.skipped) == (
        [str(s.path) for s in samples if s is not samples[5]], [str(samples[5].path)])
    np.testing.assert_array_equal(resumed.labels, clean.labels)


def test_a_cache_written_before_the_memory_map_loads_unchanged(
        data_dir: Path, cache_folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    samples = real_crops(data_dir, 8)
    images = np.stack([decode(s) for s in samples])
    key = reference_key(samples, CACHE_SIZE)
    cache_folder.mkdir()
    np.save(cache_folder / f"{key}.npy", images)
    (cache_folder / f"{key}.json").write_text(json.dumps({
        "labels": [LABELS.index(s.label) for s in samples], "paths": [str(s.path) for s in samples], "skipped": []}))
    monkeypatch.setattr(cache, "_build", lambda *args: pytest.fail("an existing cache was built again"))
    np.testing.assert_array_equal(load_cached(samples).images, images)


def test_the_content_key_is_remembered_until_a_file_changes(
        data_dir: Path, tmp_path: Path, cache_folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "data").mkdir()
    samples = [Sample(Path(shutil.copy(s.path, tmp_path / "data")), s.label, box=(0.1, 0.2, 0.3, 0.4))
               for s in real_crops(data_dir, 12)] + [Sample(tmp_path / "data" / "missing.jpg", "none")]
    reads = []
    file_digest = cache._file_digest
    monkeypatch.setattr(cache, "_file_digest", lambda s: reads.append(s) or file_digest(s))

    key = cache_key(samples, CACHE_SIZE)
    assert key == reference_key(samples, CACHE_SIZE) and len(reads) == 13
    reads.clear()
    assert cache_key(samples, CACHE_SIZE) == key and not reads  # the alias: no file read

    touched = samples[3].path.stat()
    os.utime(samples[3].path, ns=(touched.st_atime_ns, touched.st_mtime_ns + 10**9))
    assert cache_key(samples, CACHE_SIZE) == key and len(reads) == 13  # hashed again, same contents
    reads.clear()
    samples[3].path.write_bytes(samples[0].path.read_bytes())
    assert cache_key(samples, CACHE_SIZE) == reference_key(samples, CACHE_SIZE) != key and len(reads) == 13

    monkeypatch.setattr(cache, "_file_digest", file_digest)  # the pool's workers need it by name
    monkeypatch.setattr(cache, "PARALLEL_HASH_FROM", 0)  # the pool's digest is the same
    monkeypatch.setenv("GESTURE_REACTIONS_CACHE", str(tmp_path / "other"))
    assert cache_key(samples, CACHE_SIZE) == reference_key(samples, CACHE_SIZE)
    not_a_folder = tmp_path / "file"
    not_a_folder.touch()
    monkeypatch.setenv("GESTURE_REACTIONS_CACHE", str(not_a_folder / "cache"))  # the alias cannot be written
    assert cache_key(samples, CACHE_SIZE) == reference_key(samples, CACHE_SIZE)
