"""Batch inference on cached uint8 crops, with a PyTorch checkpoint or an ONNX file, preprocessed the same way."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from torch import nn

from training.checkpoint import load_checkpoint
from training.gestures import LABELS, MEAN, STD
from training.transforms import eval_transform


def preprocess(images: np.ndarray, size: int, mean: Sequence[float] = MEAN, std: Sequence[float] = STD) -> torch.Tensor:
    """uint8 [N, H, W, 3] -> normalised float [N, 3, size, size]."""
    return eval_transform(size, mean, std)(torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2))


@torch.no_grad()
def torch_probabilities(model: nn.Module, images: np.ndarray, size: int, batch_size: int = 256) -> np.ndarray:
    model.eval()
    out = []
    for start in range(0, len(images), batch_size):
        batch = preprocess(images[start:start + batch_size], size).contiguous(memory_format=torch.channels_last)
        out.append(torch.softmax(model(batch), dim=1).numpy())
    return np.concatenate(out) if out else np.zeros((0, len(LABELS)), dtype=np.float32)


class ModelFileError(FileNotFoundError):
    """A model file is missing or is not the ONNX model expected."""


def onnx_session(path: Path, what: str, optimize: bool = True, threads: int = 0) -> ort.InferenceSession:
    """An onnxruntime session for `path` (`threads` 0: onnxruntime's choice); a missing or damaged file is a
    ModelFileError naming it and `what`."""
    if not path.is_file():
        raise ModelFileError(f"{path}: no such file (expected the {what} ONNX model; run `python -m export.to_onnx`)")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    if not optimize:
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as error:  # onnxruntime raises its own exception types for damaged files
        raise ModelFileError(f"{path}: not a readable ONNX model (expected the {what}): {error}") from error


class OnnxClassifier:
    """An exported classifier; labels, input size and normalisation come from the file's metadata."""

    def __init__(self, path: Path, threads: int = 0, optimize: bool = False) -> None:
        # onnxruntime's fused int8 kernels on CPUs without VNNI differ from the browser's; plain kernels match it,
        # so accuracy is measured with `optimize` off and only speed with it on.
        self.session = onnx_session(Path(path), "gesture classifier", optimize=optimize, threads=threads)
        meta = self.session.get_modelmeta().custom_metadata_map
        self.labels = json.loads(meta["labels"]) if "labels" in meta else list(LABELS)
        if self.labels != list(LABELS):
            raise ValueError(f"{path}: labels {self.labels} differ from {list(LABELS)}")
        self.input_size = int(meta.get("input_size", self.session.get_inputs()[0].shape[-1]))
        self.mean = json.loads(meta["mean"]) if "mean" in meta else MEAN
        self.std = json.loads(meta["std"]) if "std" in meta else STD
        self.outputs_probabilities = meta.get("output") == "probabilities"

    def probabilities(self, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
        name = self.session.get_inputs()[0].name
        out = []
        for start in range(0, len(images), batch_size):
            batch = preprocess(images[start:start + batch_size], self.input_size, self.mean, self.std).numpy()
            scores = self.session.run(None, {name: batch})[0]
            out.append(scores if self.outputs_probabilities else torch.softmax(torch.from_numpy(scores), 1).numpy())
        return np.concatenate(out) if out else np.zeros((0, len(LABELS)), dtype=np.float32)


def probabilities_from_file(path: Path | str, images: np.ndarray) -> tuple[np.ndarray, str]:
    """Class probabilities of `images` from a `.pt` checkpoint or an `.onnx` file, and the model's name."""
    path = Path(path)
    if path.suffix == ".onnx":
        return OnnxClassifier(path).probabilities(images), path.stem
    model, meta = load_checkpoint(path)
    return torch_probabilities(model.to(memory_format=torch.channels_last), images, meta["input_size"]), meta["model"]
