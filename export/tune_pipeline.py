"""Choose the pipeline's thresholds by frame macro-F1 on the held-out training frames (never the test split): a
grid of palm score, hand presence and gesture threshold, best first; then, per hold-to-confirm threshold, the
photos held still that would fire (`none`) or fire their own gesture.

    python -m export.tune_pipeline --split train
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
from dataclasses import replace
from pathlib import Path

import numpy as np
import onnxruntime as ort
from tqdm import tqdm

from runtime.images import read_rgb
from runtime.paths import classifier_model, data_dir, landmark_model, palm_model
from runtime.pipeline import GesturePipeline
from training.datasets import Sample, load_samples
from training.gestures import LABELS
from training.metrics import classification_report
from training.pipeline_crops import frame_halves

PALM_SCORES = (0.1, 0.15, 0.2, 0.3, 0.4)
PRESENCES = (0.3, 0.5, 0.7, 0.9)
GESTURE_SCORES = (0.4, 0.5, 0.6, 0.7, 0.8)
REACTION_THRESHOLDS = (0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=data_dir())
    p.add_argument("--split", choices=("train", "val"), default="train")
    p.add_argument("--classifier", type=Path, default=classifier_model())
    p.add_argument("--palm", type=Path, default=palm_model())
    p.add_argument("--landmarks", type=Path, default=landmark_model(), help="hand landmark model ONNX")
    p.add_argument("--top", type=int, default=15, help="rows of the grid to print")
    return p.parse_args(argv)


class RunOnce:
    """An onnxruntime session that answers an input it has seen from memory: the grid runs the whole pipeline once
    per setting on the same frames, and most model runs repeat."""

    def __init__(self, session: ort.InferenceSession) -> None:
        self.session = session
        self.known: dict[bytes, list] = {}

    def run(self, outputs: list[str] | None, feeds: dict[str, np.ndarray]) -> list:
        key = hashlib.sha1(b"".join(np.ascontiguousarray(v).tobytes() for v in feeds.values())).digest()
        if key not in self.known:
            self.known[key] = self.session.run(outputs, feeds)
        return self.known[key]

    def __getattr__(self, name: str) -> object:
        return getattr(self.session, name)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    samples = load_samples(args.data, args.split, "frame")
    if args.split == "train":
        samples = frame_halves(samples)[1]
    if not samples:
        raise SystemExit(f"{args.data}: no frames in split {args.split!r}")
    pipeline = GesturePipeline(args.palm, args.landmarks, args.classifier)
    pipeline.palm = RunOnce(pipeline.palm)
    pipeline.landmarker.session = RunOnce(pipeline.landmarker.session)
    pipeline.classifier.session = RunOnce(pipeline.classifier.session)
    images = [read_rgb(s.path) for s in tqdm(samples, desc="decoding", leave=False)]
    truth = np.asarray([LABELS.index(s.label) for s in samples])
    rows, found = [], {}
    for palm_score, presence in tqdm(list(itertools.product(PALM_SCORES, PRESENCES)), desc="settings", leave=False):
        pipeline.settings = replace(pipeline.settings, min_palm_score=palm_score, min_presence=presence)
        hands = [pipeline.hands(image) for image in images]
        found[palm_score, presence] = np.mean([bool(h) for h, s in zip(hands, samples, strict=True)
                                               if s.label != "none"])
        for gesture_score in GESTURE_SCORES:
            pipeline.settings = replace(pipeline.settings, min_gesture_score=gesture_score)
            predicted = np.asarray([LABELS.index(pipeline.decide(frame).label) for frame in hands])
            report = classification_report(truth, predicted)
            rows.append((report["macro_f1"], palm_score, presence, gesture_score,
                         [report["per_class"][label]["f1"] for label in LABELS]))
    lowest = (min(PALM_SCORES), min(PRESENCES))
    print(f"{len(samples)} {args.split} frames; a hand (palm score >= {lowest[0]}, presence >= {lowest[1]}) in "
          f"{100 * found[lowest]:.1f}% of the gesture frames")
    rows.sort(key=lambda row: -row[0])
    header = f"{'macro-F1':>8} {'palm':>5} {'presence':>8} {'gesture':>8}  "
    print(header + " ".join(f"{x:>7}" for x in LABELS))
    for f1, palm_score, presence, gesture_score, per_class in rows[:args.top]:
        print(f"{f1:8.4f} {palm_score:5.2f} {presence:8.1f} {gesture_score:8.1f}  "
              + " ".join(f"{x:7.3f}" for x in per_class))
    print_held_poses(pipeline, images, samples)


def print_held_poses(pipeline: GesturePipeline, images: list[np.ndarray], samples: list[Sample]) -> None:
    """What hold-to-confirm's threshold does to photos held still (the widget then keeps the first frame's answer):
    per threshold, the `none` photos that would fire a reaction and the gesture photos that would fire their own,
    with the pipeline's own settings."""
    pipeline.settings = pipeline.classifier.settings
    predictions = [pipeline(image) for image in images]
    gestures = [s.label != "none" for s in samples]
    print(f"held still (the classifier's pipeline settings): {len(gestures) - sum(gestures)} none photos, "
          f"{sum(gestures)} gesture photos")
    print(f"{'threshold':>9} {'none fired':>10} {'gestures fired':>14}")
    for threshold in REACTION_THRESHOLDS:
        fired = [p.label if p.label != "none" and p.score >= threshold else None for p in predictions]
        false = sum(label is not None for label, sample in zip(fired, samples, strict=True) if sample.label == "none")
        right = sum(label == sample.label for label, sample in zip(fired, samples, strict=True))
        print(f"{threshold:9.2f} {false:10d} {right:14d}")


if __name__ == "__main__":
    main()
