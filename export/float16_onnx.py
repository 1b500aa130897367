"""A PyTorch rebuild of a MediaPipe model written as a plain ONNX file with float16 weights, as the browser loads
it: MediaPipe's weights are float16 to begin with, so this loses nothing and halves the file (computing in float32).
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
from torch import nn

ONNX_OPSET = 17


def export_float16_onnx(model: nn.Module, path: Path, input_shape: tuple[int, ...], output_names: tuple[str, ...],
                        metadata: dict[str, str]) -> Path:
    """Writes `model` (one input, `image`) as ONNX with float16 weights and `metadata`; onnxruntime's basic
    optimisations fold tracing's pad subgraphs into the convolutions, so the file holds plain ONNX ops."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        traced = Path(folder) / "traced.onnx"
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Constant folding - Only steps=1")  # onnxruntime folds them
            torch.onnx.export(model.eval(), (torch.zeros(*input_shape),), str(traced), input_names=["image"],
                              output_names=list(output_names), opset_version=ONNX_OPSET, dynamo=False)
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        options.optimized_model_filepath = str(path)
        ort.InferenceSession(str(traced), options, providers=["CPUExecutionProvider"])
    exported = onnx.load(str(path))
    used = {node.domain for node in exported.graph.node}  # onnxruntime declares all its domains; keep the used
    kept = [opset for opset in exported.opset_import if opset.domain in used]
    del exported.opset_import[:]
    exported.opset_import.extend(kept)
    for key, value in metadata.items():
        exported.metadata_props.add(key=key, value=value)
    onnx.save(float16_weights(exported), str(path))
    return path


def float16_weights(model: onnx.ModelProto) -> onnx.ModelProto:
    """Store every float32 weight as float16 behind a Cast, as the .tflite file stores them behind DEQUANTIZE."""
    graph = model.graph
    casts = []
    for initializer in graph.initializer:
        if initializer.data_type != onnx.TensorProto.FLOAT or len(initializer.dims) == 0:
            continue
        values = onnx.numpy_helper.to_array(initializer)
        half_name = initializer.name + "_float16"
        initializer.CopyFrom(onnx.numpy_helper.from_array(values.astype(np.float16), half_name))
        casts.append(onnx.helper.make_node("Cast", [half_name], [half_name[:-len("_float16")]],
                                           to=onnx.TensorProto.FLOAT, name=half_name + "_cast"))
    nodes = casts + list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes)
    onnx.checker.check_model(model)
    return model


