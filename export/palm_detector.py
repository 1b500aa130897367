"""MediaPipe's palm detector (BlazePalm) rebuilt as a PyTorch module from its .tflite graph, to export it to ONNX.

The .tflite file is read with the `tflite` flatbuffer package, without TensorFlow: every operator becomes a
PyTorch layer, in the graph's order, and the float16 weights behind DEQUANTIZE become float32. Only the
operators the palm models use are known; any other is an error that names it. TFLite works in NHWC and
PyTorch in NCHW, so weights are transposed, TensorFlow's "SAME" padding (one pixel more after than before
at stride 2) becomes an explicit pad, and a reshape of a feature map reads it in NHWC order as TFLite does.

`python -m export.palm_detector OUT.onnx` writes the ONNX file for the browser.
"""

from __future__ import annotations

import argparse
import json
import struct
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import tflite
import torch
import torch.nn.functional as F
from torch import nn

from export.palm_weights import MEDIAPIPE_VERSION, palm_model_path
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
ONNX_OPSET = 17
NHWC_TO_NCHW_AXIS = {0: 0, 1: 2, 2: 3, 3: 1}
_NUMPY_TYPES = {tflite.TensorType.FLOAT32: "<f4", tflite.TensorType.FLOAT16: "<f2", tflite.TensorType.INT32: "<i4"}
_OPERATOR_NAMES = {code: name for name, code in vars(tflite.BuiltinOperator).items() if not name.startswith("_")}
_OPTIONS = {"CONV_2D": tflite.Conv2DOptions, "DEPTHWISE_CONV_2D": tflite.DepthwiseConv2DOptions,
            "MAX_POOL_2D": tflite.Pool2DOptions, "ADD": tflite.AddOptions,
            "RESIZE_BILINEAR": tflite.ResizeBilinearOptions, "CONCATENATION": tflite.ConcatenationOptions}


@dataclass
class Operator:
    name: str
    inputs: list[int]
    outputs: list[int]
    options: object | None


@dataclass
class Graph:
    """The operators of a .tflite model with tensor shapes (NHWC) and constant values, DEQUANTIZE folded away."""

    operators: list[Operator]
    shapes: dict[int, tuple[int, ...]]
    constants: dict[int, np.ndarray]
    inputs: list[int]
    outputs: list[int]


class Add(nn.Module):
    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return a + b


class Pad(nn.Module):
    """Zero padding, with F.pad's order of pads (last dimension first)."""

    def __init__(self, pads: tuple[int, ...]) -> None:
        super().__init__()
        self.pads = pads

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.pad(x, self.pads)

    def extra_repr(self) -> str:
        return f"pads={self.pads}"


class NhwcReshape(nn.Module):
    """TFLite's reshape of a feature map, which reads it in NHWC order; the batch dimension is kept."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.shape = shape

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 4:
            x = x.permute(0, 2, 3, 1)
        return x.reshape(-1, *self.shape)

    def extra_repr(self) -> str:
        return f"shape=(-1, {', '.join(map(str, self.shape))})"


class Concat(nn.Module):
    def __init__(self, axis: int) -> None:
        super().__init__()
        self.axis = axis

    def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
        return torch.cat(tensors, self.axis)

    def extra_repr(self) -> str:
        return f"axis={self.axis}"


class PalmDetector(nn.Module):
    """Image [N, 3, 192, 192], RGB in [0, 1] -> regressors [N, 2016, 18] and score logits [N, 2016, 1]."""

    def __init__(self, graph: Graph) -> None:
        super().__init__()
        self.layers = nn.ModuleList()
        self.wiring: list[tuple[list[int], int]] = []  # per layer: the tensors it reads and the one it writes
        for index, op in enumerate(graph.operators):
            data = [i for i in op.inputs if i >= 0 and i not in graph.constants]
            self.layers.append(_layer(op, graph, index, data))
            self.wiring.append((data, op.outputs[0]))
        self.input_id = graph.inputs[0]
        self.output_ids = list(graph.outputs)

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        values = {self.input_id: image}
        for layer, (inputs, output) in zip(self.layers, self.wiring, strict=True):
            values[output] = layer(*(values[i] for i in inputs))
        regressors, scores = (values[i] for i in self.output_ids)
        return regressors, scores


def load_palm_detector(path: Path | None = None, variant: str = "lite") -> PalmDetector:
    """The palm detector built from a .tflite file; by default MediaPipe's, fetched and cached on first use."""
    path = Path(path) if path is not None else palm_model_path(variant)
    graph = read_graph(path)
    shapes = [graph.shapes[i] for i in graph.inputs], [graph.shapes[i] for i in graph.outputs]
    if shapes != ([INPUT_SHAPE], list(OUTPUT_SHAPES)):
        raise ValueError(f"{path} is not a MediaPipe palm detection model: inputs and outputs have shapes {shapes}, "
                         f"expected [{INPUT_SHAPE}] and {list(OUTPUT_SHAPES)}")
    return PalmDetector(graph).eval()


def read_graph(path: Path) -> Graph:
    """The operators and constants of a .tflite file; a missing or unreadable file is an error naming it."""
    if not path.is_file():
        raise FileNotFoundError(f"palm detection model not found: {path} (expected a .tflite file, "
                                "such as MediaPipe's palm_detection_lite.tflite)")
    data = path.read_bytes()
    if data[4:8] != b"TFL3":
        raise ValueError(f"{path} is not a TFLite model (no TFL3 file identifier at byte 4)")
    try:
        return _read_graph(tflite.Model.GetRootAsModel(data, 0))
    except (struct.error, IndexError, ValueError, TypeError) as error:
        raise ValueError(f"{path} is a damaged TFLite model: {type(error).__name__}: {error}") from error


def _read_graph(model: tflite.Model) -> Graph:
    if model.SubgraphsLength() != 1:
        raise ValueError(f"expected one subgraph, found {model.SubgraphsLength()}")
    subgraph = model.Subgraphs(0)
    shapes, constants = {}, {}
    for i in range(subgraph.TensorsLength()):
        tensor = subgraph.Tensors(i)
        shapes[i] = tuple(int(d) for d in tensor.ShapeAsNumpy()) if tensor.ShapeLength() else ()
        buffer = model.Buffers(tensor.Buffer())
        if buffer.DataLength():
            if tensor.Type() not in _NUMPY_TYPES:
                raise ValueError(f"tensor {i} has unsupported constant type {tensor.Type()}")
            constants[i] = np.frombuffer(buffer.DataAsNumpy().tobytes(), _NUMPY_TYPES[tensor.Type()]).reshape(shapes[i])
    operators = []
    for k in range(subgraph.OperatorsLength()):
        op = subgraph.Operators(k)
        code = model.OperatorCodes(op.OpcodeIndex())
        name = _OPERATOR_NAMES.get(max(code.BuiltinCode(), code.DeprecatedBuiltinCode()), "CUSTOM")
        inputs, outputs = op.InputsAsNumpy().tolist(), op.OutputsAsNumpy().tolist()
        if name == "DEQUANTIZE" and inputs[0] in constants:
            constants[outputs[0]] = constants[inputs[0]].astype(np.float32)
            continue
        options = None
        if name in _OPTIONS:
            table = op.BuiltinOptions()
            options = _OPTIONS[name]()
            options.Init(table.Bytes, table.Pos)
        operators.append(Operator(name, inputs, outputs, options))
    return Graph(operators, shapes, constants, subgraph.InputsAsNumpy().tolist(), subgraph.OutputsAsNumpy().tolist())


def _layer(op: Operator, graph: Graph, index: int, data: list[int]) -> nn.Module:
    """The PyTorch layer for one TFLite operator whose data inputs (not constants) are `data`."""
    where = f"operator {index} ({op.name})"
    options = op.options
    if options is not None and hasattr(options, "FusedActivationFunction") and options.FusedActivationFunction():
        raise NotImplementedError(f"{where}: fused activation {options.FusedActivationFunction()} is not supported")
    in_shape = graph.shapes[data[0]]
    if op.name in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        return _convolution(op, graph, in_shape, depthwise=op.name == "DEPTHWISE_CONV_2D")
    if op.name == "PRELU":
        alpha = graph.constants[op.inputs[1]].reshape(-1)
        if alpha.size != in_shape[-1]:
            raise NotImplementedError(f"{where}: only per-channel PReLU is supported, alpha has shape "
                                      f"{graph.shapes[op.inputs[1]]}")
        layer = nn.PReLU(alpha.size)
        layer.weight.data = torch.from_numpy(alpha.copy())
        return layer
    if op.name == "ADD" and len(data) == 2 and graph.shapes[data[0]] == graph.shapes[data[1]]:
        return Add()
    if op.name == "MAX_POOL_2D":
        pads = [_same_padding(in_shape[1 + d], size, stride) if options.Padding() == tflite.Padding.SAME else (0, 0)
                for d, size, stride in ((0, options.FilterHeight(), options.StrideH()),
                                        (1, options.FilterWidth(), options.StrideW()))]
        if any(sum(p) for p in pads):
            raise NotImplementedError(f"{where}: padded max pooling is not supported")
        return nn.MaxPool2d((options.FilterHeight(), options.FilterWidth()), (options.StrideH(), options.StrideW()))
    if op.name == "PAD":
        nhwc = graph.constants[op.inputs[1]].tolist()
        nchw = [nhwc[d] for d in (0, 3, 1, 2)]
        return Pad(tuple(p for before_after in reversed(nchw) for p in before_after))
    if op.name == "RESIZE_BILINEAR" and options.HalfPixelCenters() and not options.AlignCorners():
        # TFLite's half-pixel-centre bilinear resize is PyTorch's align_corners=False.
        size = tuple(int(s) for s in graph.constants[op.inputs[1]])
        return nn.Upsample(size=size, mode="bilinear", align_corners=False)
    if op.name == "RESHAPE":
        return NhwcReshape(graph.shapes[op.outputs[0]][1:])
    if op.name == "CONCATENATION":
        rank = len(in_shape)
        axis = options.Axis() % rank
        return Concat(NHWC_TO_NCHW_AXIS[axis] if rank == 4 else axis)
    raise NotImplementedError(f"{where} with inputs of shapes {[graph.shapes[i] for i in op.inputs if i >= 0]} "
                              "is not supported by this rebuild")


def _convolution(op: Operator, graph: Graph, in_shape: tuple[int, ...], depthwise: bool) -> nn.Module:
    options = op.options
    weight = graph.constants[op.inputs[1]]  # CONV_2D: [out, kh, kw, in]; DEPTHWISE_CONV_2D: [1, kh, kw, out]
    weight = weight.transpose(3, 0, 1, 2) if depthwise else weight.transpose(0, 3, 1, 2)
    out_channels, _, kernel_h, kernel_w = weight.shape
    in_channels = in_shape[-1]
    dilation = (options.DilationHFactor(), options.DilationWFactor())
    stride = (options.StrideH(), options.StrideW())
    conv = nn.Conv2d(in_channels, out_channels, (kernel_h, kernel_w), stride, dilation=dilation,
                     groups=in_channels if depthwise else 1, bias=len(op.inputs) > 2 and op.inputs[2] >= 0)
    conv.weight.data = torch.from_numpy(np.ascontiguousarray(weight))
    if conv.bias is not None:
        conv.bias.data = torch.from_numpy(graph.constants[op.inputs[2]].copy())
    if options.Padding() != tflite.Padding.SAME:
        return conv
    (top, bottom), (left, right) = (_same_padding(in_shape[1 + d], k, s, dil) for d, k, s, dil in
                                    ((0, kernel_h, stride[0], dilation[0]), (1, kernel_w, stride[1], dilation[1])))
    if (top, left) == (bottom, right):
        conv.padding = (top, left)
        return conv
    return nn.Sequential(nn.ZeroPad2d((left, right, top, bottom)), conv)


def _same_padding(size: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """TensorFlow's "SAME" padding (before, after) along one axis: the odd pixel goes after."""
    out = -(-size // stride)
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


def export_onnx(model: PalmDetector, path: Path, source: str = "palm_detection_lite.tflite") -> Path:
    """Writes the detector as ONNX (input `image` [1, 3, 192, 192]), with what the browser needs in its metadata,
    its weights stored as float16.

    onnxruntime's basic, provider-independent optimisations then fold the constant subgraphs that tracing
    leaves around each pad, and merge the spatial pads into the convolutions, so the file holds plain ONNX ops.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        traced = Path(folder) / "traced.onnx"
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Constant folding - Only steps=1")  # onnxruntime folds them
            torch.onnx.export(model.eval(), (torch.zeros(1, 3, INPUT_SIZE, INPUT_SIZE),), str(traced),
                              input_names=["image"], output_names=list(OUTPUT_NAMES), opset_version=ONNX_OPSET,
                              dynamo=False)
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        options.optimized_model_filepath = str(path)
        ort.InferenceSession(str(traced), options, providers=["CPUExecutionProvider"])
    exported = onnx.load(str(path))
    used = {node.domain for node in exported.graph.node}  # onnxruntime declares all its domains; keep the used
    kept = [opset for opset in exported.opset_import if opset.domain in used]
    del exported.opset_import[:]
    exported.opset_import.extend(kept)
    metadata = {"input_size": str(INPUT_SIZE), "input_range": json.dumps(INPUT_RANGE), "layout": "NCHW RGB",
                "source": f"MediaPipe {MEDIAPIPE_VERSION} {source} (Apache-2.0), rebuilt in PyTorch"}
    for key, value in metadata.items():
        exported.metadata_props.add(key=key, value=value)
    onnx.save(float16_weights(exported), str(path))
    return path


def float16_weights(model: onnx.ModelProto) -> onnx.ModelProto:
    """Store every float32 weight as float16 behind a Cast, as the .tflite file stores them behind DEQUANTIZE.

    MediaPipe's weights are float16 to begin with, so nothing is lost and the file halves; the computation
    stays float32 (onnxruntime folds the casts when it loads the model).
    """
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

