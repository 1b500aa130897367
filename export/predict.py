"""Recognise the gesture in images with the exported models, as the browser does.

    python -m export.predict photo.jpg [more.jpg ...]

Prints, per image, the gesture (`none` when no confident one), its probability and the hand box
(left, top, right, bottom in pixels) it was seen in.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from export.pipeline import MIN_GESTURE_SCORE, MIN_PALM_SCORE, GesturePipeline
from export.to_onnx import CLASSIFIER_INT8, MODELS_DIR, PALM_DETECTOR
from training.inference import ModelFileError


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("images", type=Path, nargs="+")
    p.add_argument("--classifier", type=Path, default=MODELS_DIR / CLASSIFIER_INT8)
    p.add_argument("--palm", type=Path, default=MODELS_DIR / PALM_DETECTOR)
    p.add_argument("--min-palm-score", type=float, default=MIN_PALM_SCORE)
    p.add_argument("--min-gesture-score", type=float, default=MIN_GESTURE_SCORE)
    return p.parse_args(argv)


def read_rgb(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        pipeline = GesturePipeline(args.palm, args.classifier, args.min_palm_score, args.min_gesture_score)
    except ModelFileError as error:
        print(error, file=sys.stderr)
        return 2
    failed = 0
    for path in args.images:
        try:
            image = read_rgb(path)
        except (OSError, UnidentifiedImageError) as error:
            print(f"{path}: cannot read image ({error})", file=sys.stderr)
            failed += 1
            continue
        prediction = pipeline(image)
        box = "hand box " + ",".join(map(str, prediction.box)) if prediction.box else "no gesture shown"
        print(f"{path}: {prediction.label} {prediction.score:.3f} ({box}; {len(prediction.hands)} hand(s) seen)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
