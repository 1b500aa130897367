"""Recognise the gesture in images with the exported models, as the browser does: per image, the gesture (`none`
when no confident one), its probability and the hand box (left, top, right, bottom pixels) it was seen in.

    python -m export.predict photo.jpg [more.jpg ...]
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from PIL import UnidentifiedImageError

from runtime.images import read_rgb
from runtime.onnx_models import ModelFileError
from runtime.paths import classifier_model, landmark_model, palm_model
from runtime.pipeline import GesturePipeline


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("images", type=Path, nargs="+")
    p.add_argument("--classifier", type=Path, default=classifier_model())
    p.add_argument("--palm", type=Path, default=palm_model())
    p.add_argument("--landmarks", type=Path, default=landmark_model(), help="hand landmark model ONNX")
    p.add_argument("--min-palm-score", type=float, help="default: the classifier file's")
    p.add_argument("--min-gesture-score", type=float, help="default: the classifier file's")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        pipeline = GesturePipeline(args.palm, args.landmarks, args.classifier)
    except ModelFileError as error:
        print(error, file=sys.stderr)
        return 2
    chosen = {name: value for name, value in (("min_palm_score", args.min_palm_score),
                                              ("min_gesture_score", args.min_gesture_score)) if value is not None}
    pipeline.settings = replace(pipeline.settings, **chosen)
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
