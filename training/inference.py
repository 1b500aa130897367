"""Batch inference with a PyTorch checkpoint, preprocessed as the exported model is, also behind the runtime's
classifier face (`TorchClassifier`) so that the runtime's pipeline can run a model before it is exported."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from runtime.settings import PipelineSettings
from training.checkpoint import load_checkpoint
from training.gestures import MEAN, STD, default_gestures
from training.models import output_layer
from training.transforms import eval_transform


def preprocess(images: np.ndarray, size: int, mean: Sequence[float] = MEAN, std: Sequence[float] = STD) -> torch.Tensor:
    """uint8 [N, H, W, 3] -> normalised float [N, 3, size, size]. The batch is copied: the cache's images are a
    read-only memory map, which torch would share with a warning and undefined writes."""
    return eval_transform(size, mean, std)(torch.from_numpy(np.array(images)).permute(0, 3, 1, 2))


@torch.no_grad()
def torch_probabilities(model: nn.Module, images: np.ndarray, size: int, batch_size: int = 256) -> np.ndarray:
    model.eval()
    device = next(model.parameters()).device  # a model training on a GPU is validated there
    out = []
    for start in range(0, len(images), batch_size):
        batch = preprocess(images[start:start + batch_size], size).to(device)
        batch = batch.contiguous(memory_format=torch.channels_last)
        out.append(torch.softmax(model(batch).float(), dim=1).cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, output_layer(model)[1].out_features), dtype=np.float32)


class TorchClassifier:
    """A checkpoint with the face of `runtime.classifier.OnnxClassifier`, with the settings an export writes; the
    network alone (no toning down of over-exposed crops), so the figures kept for checkpoints are the network's."""

    def __init__(self, checkpoint: Path) -> None:
        model, meta = load_checkpoint(checkpoint)
        self.model, self.name = model.to(memory_format=torch.channels_last), meta["model"]
        self.labels, self.input_size = tuple(meta["labels"]), meta["input_size"]
        self.settings = PipelineSettings()
        self.default_gestures = default_gestures(self.labels)

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        return torch_probabilities(self.model, images, self.input_size)

