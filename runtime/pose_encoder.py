"""The pose encoder as both runtimes run it (`static/widget/custom-gestures.js` encode): dense layers with ReLU
between, the output scaled to length 1; its weights travel in the landmark model's metadata "pose_encoder", written
once by `training.pose_encoder`. Taught gestures are matched by distances between its outputs.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass

import numpy as np

from runtime.metadata import MetadataError


def expected_words(inputs: int) -> str:
    """What the metadata's "pose_encoder" must hold, in words (the worker's are the same)."""
    return ('a JSON object {"layers": [{"weights", "bias"}, ...]}, each a base64 string of little-endian float32: a '
            f"layer's weights [outputs x inputs] row by row, the first layer taking {inputs} inputs")


@dataclass(frozen=True, eq=False)
class PoseEncoder:
    """Layers of (weights [outputs, inputs], bias [outputs])."""

    layers: tuple[tuple[np.ndarray, np.ndarray], ...]

    def __call__(self, embeddings: np.ndarray) -> np.ndarray:
        """[N, inputs] -> [N, outputs] of length 1 (a single row [inputs] -> [outputs])."""
        x = np.asarray(embeddings, dtype=np.float32)
        for i, (weights, bias) in enumerate(self.layers):
            x = x @ weights.T + bias
            if i < len(self.layers) - 1:
                x = np.maximum(x, 0)
        return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), np.finfo(np.float64).eps)

    def to_json(self) -> str:
        """The metadata's "pose_encoder"."""
        def text(values: np.ndarray) -> str:
            return base64.b64encode(np.ascontiguousarray(values, dtype="<f4").tobytes()).decode("ascii")
        return json.dumps({"layers": [{"weights": text(w), "bias": text(b)} for w, b in self.layers]})


def pose_encoder_from(metadata: dict[str, str], inputs: int) -> PoseEncoder:
    """The metadata's "pose_encoder", checked as the worker checks it (onnx-metadata.js poseEncoder): MetadataError
    saying what was expected (without the value: it is some hundred kilobytes)."""
    expected = expected_words(inputs)
    if "pose_encoder" not in metadata:
        raise MetadataError(f'its metadata has no "pose_encoder" (expected {expected})')
    wrong = MetadataError(f'its metadata "pose_encoder" is not {expected}')
    try:
        value = json.loads(metadata["pose_encoder"])
        layers = value["layers"]
        if not isinstance(layers, list) or not layers:
            raise wrong
        parsed = []
        for layer in layers:
            bias = np.frombuffer(base64.b64decode(layer["bias"], validate=True), dtype="<f4").astype(np.float32)
            weights = np.frombuffer(base64.b64decode(layer["weights"], validate=True), dtype="<f4")
            if not len(bias) or len(weights) != len(bias) * inputs or not np.isfinite(weights).all() \
                    or not np.isfinite(bias).all():
                raise wrong
            parsed.append((weights.reshape(len(bias), inputs).astype(np.float32), bias))
            inputs = len(bias)
    except (ValueError, KeyError, TypeError):  # not JSON, not base64, missing keys
        raise wrong from None
    return PoseEncoder(tuple(parsed))
