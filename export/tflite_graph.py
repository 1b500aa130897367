"""MediaPipe's .tflite models rebuilt as PyTorch modules, to export them to ONNX without TensorFlow (no maintained
converter reads TFLite into PyTorch): each operator the two models use becomes a layer, NHWC turned to NCHW and
"SAME" padding made explicit; any other operator is an error that names it.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tflite
import torch
import torch.nn.functional as F
from torch import nn

NHWC_TO_NCHW_AXIS = {0: 0, 1: 2, 2: 3, 3: 1}
_NUMPY_TYPES = {tflite.TensorType.FLOAT32: "<f4", tflite.TensorType.FLOAT16: "<f2", tflite.TensorType.INT32: "<i4"}
_OPERATOR_NAMES = {code: name for name, code in vars(tflite.BuiltinOperator).items() if not name.startswith("_")}
_OPTIONS = {"CONV_2D": tflite.Conv2DOptions, "DEPTHWISE_CONV_2D": tflite.DepthwiseConv2DOptions,
            "MAX_POOL_2D": tflite.Pool2DOptions, "ADD": tflite.AddOptions,
            "RESIZE_BILINEAR": tflite.ResizeBilinearOptions, "CONCATENATION": tflite.ConcatenationOptions,
            "FULLY_CONNECTED": tflite.FullyConnectedOptions, "MEAN": tflite.ReducerOptions}
_FUSED_ACTIVATIONS = {tflite.ActivationFunctionType.NONE: None, tflite.ActivationFunctionType.RELU: nn.ReLU,
                      tflite.ActivationFunctionType.RELU6: nn.ReLU6}


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


class Mean(nn.Module):
    """TFLite's MEAN over some axes (already renumbered for NCHW)."""

    def __init__(self, axes: tuple[int, ...], keep_dims: bool) -> None:
        super().__init__()
        self.axes, self.keep_dims = axes, keep_dims

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=self.axes, keepdim=self.keep_dims)

    def extra_repr(self) -> str:
        return f"axes={self.axes}, keep_dims={self.keep_dims}"


class TFLiteNet(nn.Module):
    """A .tflite graph as a PyTorch module: image [N, 3, H, W] -> the graph's outputs, in its order."""

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

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, ...]:
        values = {self.input_id: image}
        for layer, (inputs, output) in zip(self.layers, self.wiring, strict=True):
            values[output] = layer(*(values[i] for i in inputs))
        return tuple(values[i] for i in self.output_ids)


def read_graph(path: Path, what: str, input_shape: tuple[int, ...], output_shapes: tuple[tuple[int, ...], ...]
               ) -> Graph:
    """The operators and constants of a .tflite file; a missing or unreadable file, or one whose input and outputs
    do not have these shapes, is an error naming it and `what` it should be (e.g. "palm detection model")."""
    if not path.is_file():
        raise FileNotFoundError(f"{what} not found: {path} (expected a .tflite file from MediaPipe's wheel)")
    data = path.read_bytes()
    if data[4:8] != b"TFL3":
        raise ValueError(f"{path} is not a TFLite model (no TFL3 file identifier at byte 4)")
    try:
        graph = _read_graph(tflite.Model.GetRootAsModel(data, 0))
    except (struct.error, IndexError, ValueError, TypeError) as error:
        raise ValueError(f"{path} is a damaged TFLite model: {type(error).__name__}: {error}") from error
    shapes = [graph.shapes[i] for i in graph.inputs], [graph.shapes[i] for i in graph.outputs]
    if shapes != ([input_shape], list(output_shapes)):
        raise ValueError(f"{path} is not a MediaPipe {what}: inputs and outputs have shapes {shapes}, "
                         f"expected [{input_shape}] and {list(output_shapes)}")
    return graph


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
    """The PyTorch layer for one TFLite operator whose data inputs (not constants) are `data`, followed by its
    fused activation if it has one."""
    where = f"operator {index} ({op.name})"
    options = op.options
    fused = options.FusedActivationFunction() if hasattr(options, "FusedActivationFunction") else 0
    if fused not in _FUSED_ACTIVATIONS:
        raise NotImplementedError(f"{where}: fused activation {fused} is not supported")
    layer = _operator(op, graph, where, data)
    return layer if _FUSED_ACTIVATIONS[fused] is None else nn.Sequential(layer, _FUSED_ACTIVATIONS[fused]())


def _operator(op: Operator, graph: Graph, where: str, data: list[int]) -> nn.Module:
    options = op.options
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
    if op.name == "MEAN" and len(in_shape) == 4:
        axes = tuple(sorted(NHWC_TO_NCHW_AXIS[int(a) % 4] for a in graph.constants[op.inputs[1]].reshape(-1)))
        return Mean(axes, bool(options.KeepDims()))
    if op.name == "FULLY_CONNECTED" and len(in_shape) == 2 and not options.KeepNumDims():
        weight = graph.constants[op.inputs[1]]  # [out, in]
        layer = nn.Linear(weight.shape[1], weight.shape[0], bias=len(op.inputs) > 2 and op.inputs[2] >= 0)
        layer.weight.data = torch.from_numpy(np.ascontiguousarray(weight))
        if layer.bias is not None:
            layer.bias.data = torch.from_numpy(graph.constants[op.inputs[2]].copy())
        return layer
    if op.name == "LOGISTIC":
        return nn.Sigmoid()
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


