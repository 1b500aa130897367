"""Both dataset layouts, the class mapping, and unreadable images."""

from __future__ import annotations

import json
import logging
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.conftest import make_small_dataset, manifest_rows
from training.cache import HAGRID_BOX_EXPANSION, crop_box, load_cached
from training.datasets import DatasetLayoutError, load_samples
from training.gestures import LABELS, label_of_hagrid_class

HAGRID_CLASSES = ["call", "dislike", "fist", "four", "like", "mute", "ok", "one", "palm", "peace",
                  "peace_inverted", "rock", "stop", "stop_inverted", "three", "three2", "two_up",
                  "two_up_inverted", "no_gesture", "grabbing", "thumb_index", "holy", "timeout"]


def test_class_mapping_keeps_three_gestures_and_folds_the_rest_into_none() -> None:
    mapped = {name: label_of_hagrid_class(name) for name in HAGRID_CLASSES}
    assert {k: v for k, v in mapped.items() if v != "none"} == {"like": "like", "dislike": "dislike", "ok": "ok"}
    assert set(mapped.values()) == set(LABELS)


def test_manifest_layout_filters_split_and_kind(data_dir: Path) -> None:
    rows = manifest_rows(data_dir)
    for split, kind in [("test", "crop"), ("val", "crop"), ("train", "frame")]:
        samples = load_samples(data_dir, split, kind)
        expected = Counter(r["label"] for r in rows if r["split"] == split and r["kind"] == kind)
        assert Counter(s.label for s in samples) == expected
        assert all(s.path.is_file() for s in samples[:50])
    assert {s.label for s in load_samples(data_dir, "test", "crop")} == set(LABELS)


def write_hagrid_fixture(data_dir: Path, root: Path) -> dict[str, tuple[list[float], str]]:
    """Two HaGRID-style frames per class made of real crops pasted on a real frame, with annotation JSON."""
    crops = {row["label"]: data_dir / row["path"] for row in manifest_rows(data_dir)
             if row["kind"] == "crop" and row["split"] == "test"}
    background = next(data_dir / r["path"] for r in manifest_rows(data_dir) if r["kind"] == "frame")
    truth = {}
    for hagrid_class, label in [("like", "like"), ("dislike", "dislike"), ("ok", "ok"), ("palm", "none")]:
        annotations = {}
        for k in range(2):
            frame = Image.open(background).convert("RGB").resize((400, 300))
            hand = Image.open(crops[label]).convert("RGB").resize((60, 90))
            x, y = 40 + 150 * k, 100
            frame.paste(hand, (x, y))
            image_id = f"{hagrid_class}-{k:04d}"
            (root / "hagrid_dataset" / hagrid_class).mkdir(parents=True, exist_ok=True)
            frame.save(root / "hagrid_dataset" / hagrid_class / f"{image_id}.jpg")
            box = [x / 400, y / 300, 60 / 400, 90 / 300]
            free_hand = [0.8, 0.7, 0.08, 0.1]
            annotations[image_id] = {"bboxes": [box, free_hand], "labels": [hagrid_class, "no_gesture"],
                                     "user_id": f"user-{k}"}
            truth[image_id] = (box, label)
        (root / "hagrid_annotations" / "test").mkdir(parents=True, exist_ok=True)
        (root / "hagrid_annotations" / "test" / f"{hagrid_class}.json").write_text(json.dumps(annotations))
    return truth


def test_hagrid_layout_gives_one_crop_per_annotated_hand(data_dir: Path, tmp_path: Path) -> None:
    truth = write_hagrid_fixture(data_dir, tmp_path)
    samples = load_samples(tmp_path, "test", "crop")
    assert len(samples) == 2 * len(truth)
    by_image = {}
    for s in samples:
        by_image.setdefault(s.path.stem, []).append(s)
    for image_id, (box, label) in truth.items():
        gesture, free_hand = by_image[image_id]
        assert (gesture.label, gesture.box, gesture.group) == (label, tuple(box), f"user-{image_id[-1]}")
        assert free_hand.label == "none"
    cached = load_cached(samples)
    assert cached.images.shape == (len(samples), 128, 128, 3) and not cached.skipped
    assert Counter(LABELS[i] for i in cached.labels) == Counter(s.label for s in samples)


def test_hagrid_crop_box_contains_the_hand_and_grows_it_within_bounds() -> None:
    for seed in range(50):
        left, top, right, bottom = crop_box(400, 300, (0.1, 0.3, 0.15, 0.3), str(seed))
        assert left <= 40 and top <= 90 and right >= 100 and bottom >= 180
        assert (right - left) <= 60 * HAGRID_BOX_EXPANSION[1] + 2
    assert crop_box(400, 300, (0.1, 0.3, 0.15, 0.3), "a") == crop_box(400, 300, (0.1, 0.3, 0.15, 0.3), "a")


def test_hagrid_crops_come_from_the_annotated_box(data_dir: Path, tmp_path: Path) -> None:
    write_hagrid_fixture(data_dir, tmp_path)
    samples = [s for s in load_samples(tmp_path, "test", "crop") if s.label == "like"]
    cached = load_cached(samples)
    original = np.asarray(Image.open(samples[0].path).convert("RGB").crop((40, 100, 100, 190)).resize((128, 128)),
                          dtype=np.float32)
    # the crop is grown by at most 30 %, so its centre shows the pasted hand, not the background
    centre = slice(40, 88)
    error = np.abs(cached.images[0][centre, centre].astype(np.float32) - original[centre, centre]).mean()
    background_error = np.abs(np.asarray(Image.open(samples[0].path).convert("RGB").resize((128, 128)),
                                         dtype=np.float32)[centre, centre] - original[centre, centre]).mean()
    assert error < background_error


def test_unknown_layout_and_bad_arguments_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(DatasetLayoutError, match=r"manifest\.csv"):
        load_samples(tmp_path, "train")
    with pytest.raises(ValueError, match="split"):
        load_samples(tmp_path, "training")


def test_corrupt_images_are_skipped_and_counted(data_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
                                                ) -> None:
    root = make_small_dataset(data_dir, tmp_path / "data", {"test": 3})
    rows = manifest_rows(root)
    truncated, not_an_image = root / rows[0]["path"], root / rows[1]["path"]
    truncated.write_bytes(truncated.read_bytes()[:200])
    not_an_image.write_text("this is not a JPEG")
    samples = load_samples(root, "test")
    with caplog.at_level(logging.WARNING):
        cached = load_cached(samples)
    assert sorted(cached.skipped) == sorted([str(truncated), str(not_an_image)])
    assert len(cached) == len(samples) - 2 == cached.images.shape[0]
    assert "skipped 2 unreadable" in caplog.text
