"""MediaPipe's palm detector (BlazePalm) rebuilt as a PyTorch module from its .tflite graph
(`export.tflite_graph`), to export it to ONNX with float16 weights for the browser.

    python -m export.palm_detector OUT.onnx
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
from torch import nn

from export.float16_onnx import export_float16_onnx
from export.mediapipe_weights import MEDIAPIPE_VERSION, palm_model_path
from export.tflite_graph import TFLiteNet, read_graph
from runtime.palm_decode import (
    INPUT_RANGE,
    INPUT_SIZE,
    MIN_SCORE_THRESH,
    NUM_ANCHORS,
    NUM_COORDS,
    PalmDetection,
    decode_detections,
    letterbox,
    ssd_anchors,
    to_image_pixels,
)

INPUT_SHAPE = (1, INPUT_SIZE, INPUT_SIZE, 3)
OUTPUT_SHAPES = ((1, NUM_ANCHORS, NUM_COORDS), (1, NUM_ANCHORS, 1))
OUTPUT_NAMES = ("regressors", "scores")


class PalmDetector(TFLiteNet):
    """Image [N, 3, 192, 192], RGB in [0, 1] -> regressors [N, 2016, 18] and score logits [N, 2016, 1]."""


def load_palm_detector(path: Path | None = None, variant: str = "lite") -> PalmDetector:
    """The palm detector built from a .tflite file; by default MediaPipe's, fetched and cached on first use."""
    path = Path(path) if path is not None else palm_model_path(variant)
    graph = read_graph(path, "palm detection model", INPUT_SHAPE, OUTPUT_SHAPES)
    return PalmDetector(graph).eval()


def export_onnx(model: PalmDetector, path: Path, source: str = "palm_detection_lite.tflite") -> Path:
    """Writes the detector as ONNX (input `image` [1, 3, 192, 192], float16 weights), with what the browser needs
    in its metadata."""
    metadata = {"input_size": str(INPUT_SIZE), "input_range": json.dumps(INPUT_RANGE), "layout": "NCHW RGB",
                "source": f"MediaPipe {MEDIAPIPE_VERSION} {source} (Apache-2.0), rebuilt in PyTorch"}
    return export_float16_onnx(model, path, (1, 3, INPUT_SIZE, INPUT_SIZE), OUTPUT_NAMES, metadata)


@torch.no_grad()
def detect_palms(model: nn.Module, image: np.ndarray, min_score: float = MIN_SCORE_THRESH) -> list[PalmDetection]:
    """Palms found by the PyTorch rebuild in a uint8 [H, W, 3] RGB image, best first, in its pixels: what the
    tests hold against MediaPipe's own interpreter."""
    tensor, placed = letterbox(image)
    regressors, raw_scores = model(torch.from_numpy(tensor))
    detections = decode_detections(regressors[0].numpy(), raw_scores[0].numpy(), ssd_anchors(), min_score)
    return [to_image_pixels(d, placed) for d in detections]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="ONNX file to write")
    parser.add_argument("--variant", choices=("lite", "full"), default="lite")
    args = parser.parse_args()
    torch.set_num_threads(1)
    export_onnx(load_palm_detector(variant=args.variant), args.out, f"palm_detection_{args.variant}.tflite")
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()

