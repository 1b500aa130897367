"""Choose the pipeline's hand box and thresholds by measurement on whole frames (never on the test split).

    python -m export.tune_pipeline --split train

On the training split it uses the held-out frames only: the others gave the classifier its
backgrounds and hard negatives (`training.pipeline_crops.frame_halves`).

Runs the palm detector once per frame at the lowest palm score tried, then, for each hand box
(scale, shift) and each pair of palm and gesture thresholds, the frame macro-F1 the pipeline would
reach. Prints the grid, best first; the chosen values are `runtime.settings.PipelineSettings`'
defaults, which the export writes into the classifier's metadata.
"""

from __future__ import annotations

import argparse
import itertools
from dataclasses import replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from runtime.images import read_rgb
from runtime.paths import classifier_model, data_dir, palm_model
from runtime.pipeline import GesturePipeline
from training.datasets import load_samples
from training.gestures import LABELS
from training.metrics import classification_report
from training.pipeline_crops import frame_halves

BOX_SCALES = (1.6, 1.8, 2.0)
BOX_SHIFTS = (0.1, 0.2, 0.3)
PALM_SCORES = (0.3, 0.4, 0.5, 0.6)
GESTURE_SCORES = (0.4, 0.5, 0.6, 0.7, 0.8)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=data_dir())
    p.add_argument("--split", choices=("train", "val"), default="train")
    p.add_argument("--classifier", type=Path, default=classifier_model())
    p.add_argument("--palm", type=Path, default=palm_model())
    p.add_argument("--top", type=int, default=15, help="rows of the grid to print")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    samples = load_samples(args.data, args.split, "frame")
    if args.split == "train":
        samples = frame_halves(samples)[1]
    if not samples:
        raise SystemExit(f"{args.data}: no frames in split {args.split!r}")
    pipeline = GesturePipeline(args.palm, args.classifier)
    pipeline.settings = replace(pipeline.settings, min_palm_score=min(PALM_SCORES))
    images = [read_rgb(s.path) for s in tqdm(samples, desc="decoding", leave=False)]
    palms = [pipeline.palms(image) for image in tqdm(images, desc="palms", leave=False)]
    truth = np.asarray([LABELS.index(s.label) for s in samples])
    found = np.mean([bool(p) for p, s in zip(palms, samples, strict=True) if s.label != "none"])
    print(f"{len(samples)} {args.split} frames; a palm (score >= {min(PALM_SCORES)}) in {100 * found:.1f}% "
          "of the gesture frames")
    rows = []
    for scale, shift in tqdm(list(itertools.product(BOX_SCALES, BOX_SHIFTS)), desc="hand boxes", leave=False):
        pipeline.settings = replace(pipeline.settings, hand_box_scale=scale, hand_box_shift=shift)
        hands = [pipeline.classify(image, p) for image, p in zip(images, palms, strict=True)]
        for palm_score, gesture_score in itertools.product(PALM_SCORES, GESTURE_SCORES):
            pipeline.settings = replace(pipeline.settings, min_gesture_score=gesture_score)
            decided = [pipeline.decide([h for h in frame if h.palm_score >= palm_score]) for frame in hands]
            predicted = np.asarray([LABELS.index(d.label) for d in decided])
            report = classification_report(truth, predicted)
            rows.append((report["macro_f1"], scale, shift, palm_score, gesture_score,
                         [report["per_class"][label]["f1"] for label in LABELS]))
    rows.sort(key=lambda row: -row[0])
    header = f"{'macro-F1':>8} {'scale':>6} {'shift':>6} {'palm':>5} {'gesture':>8}  "
    print(header + " ".join(f"{x:>7}" for x in LABELS))
    for f1, scale, shift, palm_score, gesture_score, per_class in rows[:args.top]:
        print(f"{f1:8.4f} {scale:6.1f} {shift:6.1f} {palm_score:5.1f} {gesture_score:8.1f}  "
              + " ".join(f"{x:7.3f}" for x in per_class))


if __name__ == "__main__":
    main()
