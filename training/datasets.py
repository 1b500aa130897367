"""Readers for the two dataset layouts we train on, both reduced to a list of `Sample`s: the shared manifest layout
(`manifest.csv`, `crops/`, `frames/`) and HaGRID's published one (images per class, an annotation JSON per class
and split; every annotated hand becomes one crop sample).
"""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from training.gestures import LABELS, label_of_hagrid_class

SPLITS = ("train", "val", "test")
KINDS = ("crop", "frame")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


@dataclass(frozen=True)
class Sample:
    """One labelled image; `box` is the hand's normalised [x, y, w, h] when the image is a frame to cut from."""

    path: Path
    label: str
    group: str = ""
    box: tuple[float, float, float, float] | None = None


class DatasetLayoutError(ValueError):
    """The folder is neither in the shared manifest layout nor in HaGRID's layout."""


def read_manifest(root: Path, split: str, kind: str, labels: Sequence[str] = LABELS) -> list[Sample]:
    """Samples of one split and kind from `root/manifest.csv`, labelled in `labels`: a gesture row keeps its label,
    a `none` row takes the label of its `source_class` (HaGRID's gesture), `none` where `labels` has none for it;
    rows whose source may show a gesture of `labels` unnamed are left out (`gestures.UNNAMED_POSES`)."""
    manifest = root / "manifest.csv"
    samples = []
    with manifest.open(newline="") as f:
        for row in csv.DictReader(f):
            if row["split"] != split or row["kind"] != kind:
                continue
            if row["label"] not in LABELS:
                raise DatasetLayoutError(f"{manifest}: unknown label {row['label']!r} for {row['path']}")
            source_class = row.get("source_class", "") if row["label"] == "none" else row["label"]
            if (label := label_of_hagrid_class(source_class, labels)) is not None:
                samples.append(Sample(root / row["path"], label, row.get("group", "")))
    return samples


def _first_existing(candidates: list[Path]) -> Path | None:
    return next((p for p in candidates if p.is_dir()), None)


def _hagrid_annotation_dir(root: Path, split: str) -> Path | None:
    return _first_existing([root / "annotations" / split, root / "hagrid_annotations" / split])


def _hagrid_image(root: Path, hagrid_class: str, image_id: str) -> Path | None:
    for folder in (root / hagrid_class, root / "hagrid_dataset" / hagrid_class):
        for suffix in IMAGE_SUFFIXES:
            if (path := folder / f"{image_id}{suffix}").is_file():
                return path
    return None


def read_hagrid(root: Path, split: str, labels: Sequence[str] = LABELS) -> list[Sample]:
    """One crop sample per annotated hand in HaGRID's layout, labelled in `labels` by its hand's class; images that
    are not on disk are skipped."""
    annotation_dir = _hagrid_annotation_dir(root, split)
    if annotation_dir is None:
        raise DatasetLayoutError(f"{root}: no HaGRID annotations for split {split!r} "
                                 f"(expected annotations/{split}/<class>.json)")
    samples = []
    for annotation_file in sorted(annotation_dir.glob("*.json")):
        hagrid_class = annotation_file.stem
        annotations = json.loads(annotation_file.read_text())
        for image_id, entry in sorted(annotations.items()):
            path = _hagrid_image(root, hagrid_class, image_id)
            if path is None:
                continue
            group = str(entry.get("user_id") or image_id)
            for box, hand_class in zip(entry["bboxes"], entry["labels"], strict=False):
                if (label := label_of_hagrid_class(hand_class, labels)) is not None:
                    samples.append(Sample(path, label, group, tuple(float(v) for v in box)))
    return samples


def is_hagrid_layout(root: Path) -> bool:
    return any(_hagrid_annotation_dir(root, split) for split in SPLITS)


def load_samples(root: Path | str, split: str, kind: str = "crop", labels: Sequence[str] = LABELS) -> list[Sample]:
    """Samples of `split` from either layout, labelled in the label set `labels` (`training.gestures.LABEL_SETS`).
    HaGRID's frames are annotated, so they always give crops."""
    root = Path(root)
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if (root / "manifest.csv").is_file():
        return read_manifest(root, split, kind, labels)
    if is_hagrid_layout(root):
        if kind != "crop":
            raise DatasetLayoutError(f"{root}: HaGRID's layout gives hand crops only, not kind {kind!r}")
        return read_hagrid(root, split, labels)
    raise DatasetLayoutError(f"{root}: expected manifest.csv (shared layout) or annotations/<split>/<class>.json "
                             "(HaGRID layout)")


def limit_per_class(samples: list[Sample], limit: int | None, seed: int = 0) -> list[Sample]:
    """At most `limit` samples of each label, a seeded random choice kept in the list's order: a quick run on a
    large layout decodes only these."""
    if limit is None:
        return samples
    chosen: set[int] = set()
    for label in {s.label for s in samples}:
        of_label = [i for i, s in enumerate(samples) if s.label == label]
        chosen.update(random.Random(f"{seed}:{label}").sample(of_label, min(limit, len(of_label))))
    return [s for i, s in enumerate(samples) if i in chosen]
