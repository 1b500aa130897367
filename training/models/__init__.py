"""The classifier architectures, selectable by name: `build_model(name)`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import nn
from torchvision.models import mobilenet_v3_large, mobilenet_v3_small

from training.gestures import INPUT_SIZE, LABELS
from training.models.attention_hgr import INPUT_SIZE as ATTENTION_HGR_INPUT_SIZE
from training.models.attention_hgr import AttentionHGR
from training.models.efficientnet_lite import SlimWithBranch, efficientnet_lite0, efficientnet_lite0_slim


@dataclass(frozen=True)
class Architecture:
    build: Callable[[int, bool], nn.Module]
    input_size: int
    pretrained: bool
    """Whether `build(..., True)` starts from ImageNet weights (shipped in an installed package)."""


ARCHITECTURES: dict[str, Architecture] = {
    "mobilenet_v3_small": Architecture(lambda n, _: mobilenet_v3_small(num_classes=n), INPUT_SIZE, False),
    "mobilenet_v3_large": Architecture(lambda n, _: mobilenet_v3_large(num_classes=n), INPUT_SIZE, False),
    "efficientnet_lite0": Architecture(lambda n, pretrained: efficientnet_lite0(n, pretrained), INPUT_SIZE, True),
    "efficientnet_lite0_slim": Architecture(efficientnet_lite0_slim, INPUT_SIZE, True),
    "efficientnet_lite0_slim_branched": Architecture(lambda n, _: SlimWithBranch(n), INPUT_SIZE, False),
    "attention_hgr": Architecture(lambda n, _: AttentionHGR(n), ATTENTION_HGR_INPUT_SIZE, False),
}


def build_model(name: str, pretrained: bool = True, num_classes: int = len(LABELS)) -> nn.Module:
    """A fresh model; `pretrained` loads ImageNet weights where the architecture has them."""
    if name not in ARCHITECTURES:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(ARCHITECTURES)}")
    return ARCHITECTURES[name].build(num_classes, pretrained)


def output_layer(model: nn.Module) -> tuple[str, nn.Linear]:
    """The name and module of the layer that gives one logit per label: every architecture's last linear layer."""
    return [(name, m) for name, m in model.named_modules() if isinstance(m, nn.Linear)][-1]
