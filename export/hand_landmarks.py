"""MediaPipe's hand landmark model rebuilt as a PyTorch module from its .tflite graph (`export.tflite_graph`), to
export it to ONNX with float16 weights: one hand's region, upright, 224 x 224 -> 21 landmarks and presence.

    python -m export.hand_landmarks OUT.onnx [--variant lite|full]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from torch import nn

from export.float16_onnx import export_float16_onnx
from export.mediapipe_weights import MEDIAPIPE_VERSION, hand_landmark_model_path
from export.tflite_graph import TFLiteNet, read_graph
from runtime.hand_landmarks import INPUT_SIZE, NUM_LANDMARKS, landmark_metadata

INPUT_SHAPE = (1, INPUT_SIZE, INPUT_SIZE, 3)
OUTPUT_SHAPES = ((1, 3 * NUM_LANDMARKS), (1, 1), (1, 1), (1, 3 * NUM_LANDMARKS))
OUTPUT_NAMES = ("landmarks", "presence", "handedness", "world_landmarks")
SHIPPED_OUTPUTS = 3
"""The ONNX file keeps the first three: the pipeline has no use for world landmarks, whose head is 85 KB of
weights every participant's browser would download for nothing."""


class HandLandmarks(TFLiteNet):
    """Image [N, 3, 224, 224], RGB in [0, 1] -> landmarks [N, 63], presence [N, 1], handedness [N, 1] and world
    landmarks [N, 63]."""


class ShippedOutputs(nn.Module):
    """The landmark model with only the outputs the pipeline reads (`SHIPPED_OUTPUTS`); tracing it leaves the rest
    of the graph out."""

    def __init__(self, model: HandLandmarks) -> None:
        super().__init__()
        self.model = model

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return tuple(self.model(image)[:SHIPPED_OUTPUTS])


def load_hand_landmarks(path: Path | None = None, variant: str = "lite") -> HandLandmarks:
    """The landmark model built from a .tflite file; by default MediaPipe's, fetched and cached on first use."""
    path = Path(path) if path is not None else hand_landmark_model_path(variant)
    graph = read_graph(path, "hand landmark model", INPUT_SHAPE, OUTPUT_SHAPES)
    return HandLandmarks(graph).eval()


def export_onnx(model: HandLandmarks, path: Path, source: str = "hand_landmark_lite.tflite") -> Path:
    """Writes the model as ONNX (input `image` [1, 3, 224, 224], float16 weights, the outputs the pipeline reads)
    with its input and outputs described in the metadata, and the regions both runtimes place it with
    (`runtime.hand_landmarks`)."""
    outputs = OUTPUT_NAMES[:SHIPPED_OUTPUTS]
    metadata = {**landmark_metadata(), "input_range": "[0.0, 1.0]", "layout": "NCHW RGB",
                "outputs": ", ".join(outputs), "num_landmarks": str(NUM_LANDMARKS),
                "source": f"MediaPipe {MEDIAPIPE_VERSION} {source} (Apache-2.0), rebuilt in PyTorch"}
    return export_float16_onnx(ShippedOutputs(model), path, (1, 3, INPUT_SIZE, INPUT_SIZE), outputs, metadata)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="ONNX file to write")
    parser.add_argument("--variant", choices=("lite", "full"), default="lite")
    args = parser.parse_args()
    torch.set_num_threads(1)
    export_onnx(load_hand_landmarks(variant=args.variant), args.out, f"hand_landmark_{args.variant}.tflite")
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
