"""The exported crop classifier: its metadata, read and checked as the browser's worker reads it
(`static/widget/onnx-metadata.js`, refusing the same files with the same words), and batch inference.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from runtime.exposure import expose_bright_crop
from runtime.images import resize_square
from runtime.metadata import MetadataError, is_number, is_positive_integer, parsed, settings_value
from runtime.onnx_models import ModelFileError, onnx_session
from runtime.settings import PipelineSettings, RaiseHandSettings, ReactionSettings

EXPECTED = ("the gesture classifier as ONNX, with labels, emoji, names, input_size, mean, std, output, pipeline, "
            "reactions, raise_hand and default_gestures in its metadata (written by `python -m export.to_onnx`)")


@dataclass(frozen=True)
class ClassifierMetadata:
    """What a classifier file says about itself; `gestures` are its labels that fire reactions or raise the hand (all
    but none), `default_gestures` those of them on until a host chooses; `raise_hand` is None when it has no
    raise-hand gesture."""

    labels: tuple[str, ...]
    emoji: dict[str, str]
    names: dict[str, str]
    input_size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    pipeline: PipelineSettings
    reactions: ReactionSettings
    raise_hand: RaiseHandSettings | None
    default_gestures: tuple[str, ...]

    @property
    def gestures(self) -> tuple[str, ...]:
        return tuple(label for label in self.labels if label != "none")


def _has_text_for(value: object, gestures: list[str]) -> bool:
    return isinstance(value, dict) and all(isinstance(value.get(g), str) and value[g] for g in gestures)


def _is_triple(value: object) -> bool:
    return isinstance(value, list) and len(value) == 3 and all(map(is_number, value))


def parse_metadata(metadata: dict[str, str]) -> ClassifierMetadata:
    """The classifier's metadata_props, checked; MetadataError saying which key is missing or wrong."""
    labels = parsed(metadata, "labels", lambda v: isinstance(v, list) and "none" in v and len(v) > 1
                    and all(isinstance(label, str) for label in v), 'a JSON list of class names including "none"')
    gestures = [label for label in labels if label != "none"]
    emoji = parsed(metadata, "emoji", lambda v: _has_text_for(v, gestures),
                   f"a JSON object with an emoji for each of {', '.join(gestures)}")
    names = parsed(metadata, "names", lambda v: _has_text_for(v, gestures),
                   f"a JSON object with a name for each of {', '.join(gestures)}")
    input_size = parsed(metadata, "input_size", is_positive_integer, "a positive integer")
    mean = parsed(metadata, "mean", _is_triple, "three numbers")
    std = parsed(metadata, "std", lambda v: _is_triple(v) and all(s > 0 for s in v), "three positive numbers")
    if metadata.get("output") != "probabilities":
        raise MetadataError(f'its metadata "output" is {metadata.get("output", "missing")} '
                            '(expected "probabilities": the graph ends in softmax)')
    return ClassifierMetadata(tuple(labels), dict(emoji), dict(names), input_size, tuple(mean), tuple(std),
                              settings_value(metadata, "pipeline", PipelineSettings),
                              settings_value(metadata, "reactions", ReactionSettings),
                              _raise_hand(metadata, gestures),
                              tuple(parsed(metadata, "default_gestures", lambda v: isinstance(v, list) and len(v) > 0
                                           and all(g in gestures for g in v),
                                           f"a non-empty JSON list of some of {', '.join(gestures)}")))


def _raise_hand(metadata: dict[str, str], gestures: list[str]) -> RaiseHandSettings | None:
    """The metadata's "raise_hand": null, or the label that raises the hand (one of `gestures`) and its numbers."""
    def valid(v: object) -> bool:
        return v is None or (isinstance(v, dict) and set(v) == {"label", "hold_ms", "lower_after_ms"}
                             and v["label"] in gestures
                             and all(is_number(v[k]) and v[k] >= 0 for k in ("hold_ms", "lower_after_ms")))
    expected = (f'null or a JSON object of "label" (one of {", ".join(gestures)}), "hold_ms" and '
                '"lower_after_ms"')
    value = parsed(metadata, "raise_hand", valid, expected)
    return None if value is None else RaiseHandSettings(**value)


def preprocess(images: np.ndarray, size: int, mean: Sequence[float], std: Sequence[float],
               pipeline: PipelineSettings | None = None) -> np.ndarray:
    """uint8 [N, H, W, 3] -> float32 [N, 3, size, size]: resized (Pillow bilinear), over-exposed crops toned down
    (with `pipeline`'s bright-crop settings: `runtime.exposure`), scaled to [0, 1], normalised."""
    return _normalised(input_crops(images, size, pipeline)[0], size, mean, std)


def input_crops(images: np.ndarray, size: int,
                pipeline: PipelineSettings | None) -> tuple[list[np.ndarray], np.ndarray]:
    """The crops at the input size, over-exposed ones toned down with `pipeline`'s settings, and which were (a
    boolean per crop)."""
    resized = [resize_square(image, size) for image in images]
    if pipeline is None:
        return resized, np.zeros(len(resized), dtype=bool)
    toned = [expose_bright_crop(crop, pipeline.bright_crop_luma, pipeline.bright_crop_target) for crop in resized]
    return toned, np.array([t is not r for t, r in zip(toned, resized, strict=True)], dtype=bool)


def _normalised(crops: list[np.ndarray], size: int, mean: Sequence[float], std: Sequence[float]) -> np.ndarray:
    if not crops:
        return np.zeros((0, 3, size, size), dtype=np.float32)
    # times float32(1/255), not divided by 255: torchvision's arithmetic, which trained the model, to the last bit
    # (one bit off moves the int8 model's input quantization, and can tip a frame near the gesture threshold)
    scaled = np.stack(crops).astype(np.float32) * np.float32(1 / 255)
    normalised = (scaled - np.asarray(mean, dtype=np.float32)) / np.asarray(std, dtype=np.float32)
    return np.ascontiguousarray(normalised.transpose(0, 3, 1, 2))


def add_to_logit(probabilities: np.ndarray, column: int, value: float, rows: np.ndarray | None = None) -> np.ndarray:
    """The probabilities a softmax would give with `value` added to logit `column` (of `rows`, a boolean mask; all
    rows without one): that column times e^value, each row normalised again. float32 arithmetic, as the browser's
    `addToLogit` (static/widget/pipeline.js) does it."""
    out = np.array(probabilities, dtype=np.float32)
    chosen = np.ones(len(out), dtype=bool) if rows is None else np.asarray(rows, dtype=bool)
    if not value or not chosen.any():
        return out
    scaled = out[chosen]
    scaled[:, column] *= np.float32(math.exp(value))
    out[chosen] = scaled / scaled.sum(1, keepdims=True, dtype=np.float32)
    return out


class OnnxClassifier:
    """An exported classifier, usable wherever the pipeline takes a classifier (`labels`, `input_size`,
    `settings`, `probabilities`). With `network_only`, over-exposed crops are not toned down: the network alone, as
    the export's check compares it with PyTorch."""

    def __init__(self, path: Path, threads: int = 0, optimize: bool = False, network_only: bool = False) -> None:
        # onnxruntime's fused int8 kernels on CPUs without VNNI differ from the browser's; plain kernels match it,
        # so accuracy is measured with `optimize` off and only speed with it on.
        self.path = Path(path)
        self.network_only = network_only
        self.session = onnx_session(self.path, "gesture classifier", optimize=optimize, threads=threads)
        try:
            self.metadata = parse_metadata(self.session.get_modelmeta().custom_metadata_map)
        except MetadataError as error:
            raise ModelFileError(f"{self.path}: {error}; expected {EXPECTED}") from error
        self.labels = self.metadata.labels
        self.input_size = self.metadata.input_size
        self.settings = self.metadata.pipeline
        self.default_gestures = self.metadata.default_gestures

    def probabilities(self, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """[N, labels] class probabilities of uint8 [N, H, W, 3] crops, resized to the input size first (and, as the
        browser does, over-exposed ones toned down, with `bright_crop_none_logit` added to their `none` logit)."""
        name = self.session.get_inputs()[0].name
        meta = self.metadata
        exposure = None if self.network_only else meta.pipeline
        out = []
        for start in range(0, len(images), batch_size):
            crops, toned = input_crops(images[start:start + batch_size], meta.input_size, exposure)
            batch = self.session.run(None, {name: _normalised(crops, meta.input_size, meta.mean, meta.std)})[0]
            if exposure is not None:
                batch = add_to_logit(batch, self.labels.index("none"), exposure.bright_crop_none_logit, toned)
            out.append(batch)
        return np.concatenate(out) if out else np.zeros((0, len(self.labels)), dtype=np.float32)


def read_metadata(path: Path) -> ClassifierMetadata:
    """The checked metadata of a classifier file (ModelFileError naming the file when missing or wrong)."""
    return OnnxClassifier(path).metadata
