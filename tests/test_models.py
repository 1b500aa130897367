"""Every architecture builds, takes its input size and gives one score per label."""

from __future__ import annotations

import pytest
import torch

from training.gestures import LABELS
from training.models import ARCHITECTURES, build_model
from training.models.efficientnet_lite import efficientnet_lite0, imagenet_weights_file


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_output_shape(name: str) -> None:
    model = build_model(name, pretrained=False).eval()
    size = ARCHITECTURES[name].input_size
    with torch.no_grad():
        logits = model(torch.randn(2, 3, size, size))
    assert logits.shape == (2, len(LABELS))
    assert torch.isfinite(logits).all()


def test_efficientnet_lite0_loads_the_shipped_imagenet_weights() -> None:
    pretrained, scratch = efficientnet_lite0(len(LABELS)), efficientnet_lite0(len(LABELS), pretrained=False)
    imagenet = torch.load(imagenet_weights_file(), map_location="cpu", weights_only=True)
    assert torch.equal(pretrained._conv_stem.weight, imagenet["_conv_stem.weight"])
    assert torch.equal(pretrained._blocks[15]._project_conv.weight, imagenet["_blocks.15._project_conv.weight"])
    assert not torch.equal(scratch._conv_stem.weight, imagenet["_conv_stem.weight"])


def test_unknown_model_name_lists_the_choices() -> None:
    with pytest.raises(ValueError, match="mobilenet_v3_small"):
        build_model("resnet50")
