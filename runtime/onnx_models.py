"""Opening an ONNX model with onnxruntime, with an error that names the file and what was expected there."""

from __future__ import annotations

from pathlib import Path

import onnxruntime as ort


class ModelFileError(FileNotFoundError):
    """A model file is missing, or is not the ONNX model expected."""


def onnx_session(path: Path, what: str, optimize: bool = True, threads: int = 0) -> ort.InferenceSession:
    """An onnxruntime session for `path` (`threads` 0: onnxruntime's choice); a missing or damaged file is a
    ModelFileError naming it and `what`."""
    path = Path(path)
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
