"""AttentionHGR (Miah et al., "Multistage Spatial Attention-Based Neural Network for Hand Gesture Recognition",
2023), rebuilt from the paper: two stages of feature x attention modules, then a small classifier; a research
`--model` choice, not shipped (docs/decisions.md#attentionhgr-rebuilt-from-the-paper).
"""

from __future__ import annotations

import torch
from torch import nn

INPUT_SIZE = 160


def conv_bn(in_channels: int, out_channels: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False), nn.BatchNorm2d(out_channels))


class FeatureModule(nn.Module):
    """Six conv + BN + ReLU layers; the first may downsample."""

    def __init__(self, in_channels: int, channels: int, stride: int) -> None:
        super().__init__()
        layers = []
        for i in range(6):
            layers += [conv_bn(in_channels if i == 0 else channels, channels, stride if i == 0 else 1),
                       nn.ReLU(inplace=True)]
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


class AttentionModule(nn.Module):
    """Six conv + BN layers with residual connections after the 2nd and 4th, ending in a sigmoid mask."""

    def __init__(self, in_channels: int, channels: int, stride: int) -> None:
        super().__init__()
        self.convs = nn.ModuleList(conv_bn(in_channels if i == 0 else channels, channels, stride if i == 0 else 1)
                                   for i in range(6))
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.act(self.convs[0](x))
        skip = x = self.act(self.convs[1](x))
        x = self.act(self.convs[2](x))
        skip = x = self.act(self.convs[3](x) + skip)
        x = self.act(self.convs[4](x))
        return torch.sigmoid(self.convs[5](x) + skip)


class AttentionStage(nn.Module):
    def __init__(self, in_channels: int, channels: int, stride: int = 2) -> None:
        super().__init__()
        self.features = FeatureModule(in_channels, channels, stride)
        self.attention = AttentionModule(in_channels, channels, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x) * self.attention(x)


class AttentionHGR(nn.Module):
    def __init__(self, num_classes: int, widths: tuple[int, int] = (16, 32)) -> None:
        super().__init__()
        self.stage1 = AttentionStage(3, widths[0])
        self.image_pool = nn.AvgPool2d(2)
        self.stage2 = AttentionStage(widths[0] + 3, widths[1])
        blocks, channels = [], widths[1]
        for out_channels in (64, 128):
            blocks += [nn.Conv2d(channels, out_channels, 3, padding=1), nn.ReLU(inplace=True),
                       nn.BatchNorm2d(out_channels), nn.MaxPool2d(2)]
            channels = out_channels
        self.classifier = nn.Sequential(*blocks, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2),
                                        nn.Linear(channels, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        stage1 = self.stage1(x)
        stage2 = self.stage2(torch.cat([self.image_pool(x), stage1], dim=1))
        return self.classifier(stage2)
