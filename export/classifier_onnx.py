"""The crop classifier as ONNX: float32, and int8 by static QDQ quantization calibrated on real training crops;
the graph ends in a softmax, and everything the browser needs to use it travels in the file's metadata.
"""

from __future__ import annotations

import json
import random
import tempfile
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import numpy as np
import onnx
import torch
from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType, quantize_static
from onnxruntime.quantization.shape_inference import quant_pre_process
from torch import nn

from runtime.settings import PipelineSettings, RaiseHandSettings, ReactionSettings
from training.checkpoint import load_checkpoint
from training.gestures import default_gestures, emoji_of, names_of
from training.inference import preprocess

ONNX_OPSET = 17
INPUT_NAME = "crop"
OUTPUT_NAME = "probabilities"
CALIBRATION_PER_CLASS = 128
"""Training crops per class that calibrate the int8 activations' ranges (a fixed, seeded choice)."""


class WithSoftmax(nn.Module):
    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.model(x), dim=1)


def metadata(checkpoint_meta: dict, test_report: dict | None, version: str, precision: str,
             pipeline: PipelineSettings | None = None, reactions: ReactionSettings | None = None) -> dict[str, str]:
    """The ONNX metadata that the browser's worker and `runtime.classifier` read instead of hard-coding anything:
    the checkpoint's labels with their emoji and gesture names (`training.gestures.CATALOGUE`), input and output,
    and the pipeline, reaction and (with a raise-hand gesture) raise-hand numbers (`runtime.settings`)."""
    labels = checkpoint_meta["labels"]
    meta = {
        "labels": json.dumps(list(labels)),
        "emoji": json.dumps(emoji_of(labels), ensure_ascii=False),
        "names": json.dumps(names_of(labels)),
        "input_size": str(checkpoint_meta["input_size"]),
        "mean": json.dumps(checkpoint_meta["mean"]),
        "std": json.dumps(checkpoint_meta["std"]),
        "layout": "NCHW RGB, pixels scaled to [0, 1] then (x - mean) / std",
        "output": "probabilities",
        "pipeline": json.dumps(asdict(pipeline or PipelineSettings())),
        "reactions": json.dumps(asdict(reactions or ReactionSettings())),
        "raise_hand": json.dumps(asdict(RaiseHandSettings()) if RaiseHandSettings().label in labels else None),
        "default_gestures": json.dumps(list(default_gestures(labels))),
        "model": checkpoint_meta["model"],
        "precision": precision,
        "version": version,
    }
    if test_report is not None:
        meta["test_metrics"] = json.dumps({
            "split": test_report.get("split", "test"), "kind": test_report.get("kind", "crop"),
            "n": test_report["n"], "macro_f1": round(test_report["macro_f1"], 4),
            "f1": {name: round(v["f1"], 4) for name, v in test_report["per_class"].items()}})
    return meta


def _with_metadata(path: Path, meta: dict[str, str]) -> None:
    model = onnx.load(str(path))
    del model.metadata_props[:]
    for key, value in sorted(meta.items()):
        model.metadata_props.add(key=key, value=value)
    model.producer_name, model.producer_version = "gesture-reactions", meta["version"]
    onnx.save(model, str(path))


def export_fp32(checkpoint: Path, path: Path, meta: dict[str, str]) -> Path:
    """The checkpoint as a float32 ONNX graph with batch size as a dynamic axis, batch norm folded in."""
    model, checkpoint_meta = load_checkpoint(checkpoint)
    size = checkpoint_meta["input_size"]
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(WithSoftmax(model).eval(), (torch.zeros(1, 3, size, size),), str(path), dynamo=False,
                      input_names=[INPUT_NAME], output_names=[OUTPUT_NAME], opset_version=ONNX_OPSET,
                      dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}})
    _with_metadata(path, meta)
    return path


def calibration_crops(images: np.ndarray, labels: np.ndarray, per_class: int = CALIBRATION_PER_CLASS,
                      seed: int = 0) -> np.ndarray:
    """A fixed, class-balanced choice of crops (of every label present), so that two exports calibrate on the same
    images."""
    rng = random.Random(seed)
    chosen = []
    for label in np.unique(labels):
        indices = np.flatnonzero(labels == label).tolist()
        chosen += sorted(rng.sample(indices, min(per_class, len(indices))))
    return images[chosen]


class _CropReader(CalibrationDataReader):
    def __init__(self, batches: list[np.ndarray]) -> None:
        self.batches: Iterator[np.ndarray] = iter(batches)

    def get_next(self) -> dict[str, np.ndarray] | None:
        batch = next(self.batches, None)
        return None if batch is None else {INPUT_NAME: batch}


def after_output_layers(graph: onnx.GraphProto) -> list[str]:
    """The nodes fed by the output layers (Gemm), directly or not: the softmax, and a branched model's arithmetic
    on its logits, which stay in float so that each output layer's logits are quantized once, as the base's are."""
    consumers: dict[str, list[onnx.NodeProto]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    pending = [name for node in graph.node if node.op_type == "Gemm" for name in node.output]
    after: dict[str, None] = {}
    while pending:
        for node in consumers.get(pending.pop(), []):
            if node.name not in after:
                after[node.name] = None
                pending += node.output
    return list(after)


def quantize_int8(fp32: Path, path: Path, crops: np.ndarray, meta: dict[str, str]) -> Path:
    """Static QDQ quantization: int8 weights per output channel, uint8 activations with ranges from `crops`; what
    follows the output layers stays in float (their logits are already quantized: `after_output_layers`)."""
    size = int(meta["input_size"])
    mean, std = json.loads(meta["mean"]), json.loads(meta["std"])
    batches = [preprocess(crops[i:i + 1], size, mean, std).numpy() for i in range(len(crops))]
    with tempfile.TemporaryDirectory() as folder:
        prepared = Path(folder) / "prepared.onnx"
        quant_pre_process(str(fp32), str(prepared), skip_symbolic_shape=True)
        quantize_static(str(prepared), str(path), _CropReader(batches), quant_format=QuantFormat.QDQ,
                        per_channel=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        calibrate_method=CalibrationMethod.MinMax,
                        nodes_to_exclude=after_output_layers(onnx.load(str(prepared)).graph))
    _with_metadata(path, meta)
    return path
