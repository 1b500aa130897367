"""Checkpoints that carry what is needed to rebuild and use the model: architecture, input size,
labels and normalisation travel with the weights."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from runtime.paths import recorded
from training.gestures import LABEL_SETS, LABELS, MEAN, STD, label_set_error
from training.models import ARCHITECTURES, build_model


class CheckpointError(ValueError):
    """A checkpoint file is missing, unreadable or not one of ours."""


def save_checkpoint(path: Path, model: nn.Module, model_name: str, labels: Sequence[str] = LABELS,
                    **extra: object) -> None:
    """The weights with what rebuilds and uses them; `labels` is the model's class order (its outputs)."""
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}  # loads on any device
    torch.save({"model": model_name, "input_size": ARCHITECTURES[model_name].input_size, "labels": list(labels),
                "mean": list(MEAN), "std": list(STD), "state_dict": state, **extra}, path)


def load_checkpoint(path: Path | str) -> tuple[nn.Module, dict]:
    """The model in eval mode and the checkpoint's other fields (its own label set among them); a clear error for a
    bad file."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint (expected a .pt file written by training.train)")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises several types for a damaged file
        raise CheckpointError(f"{path}: not a readable PyTorch checkpoint ({error})") from error
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint or "model" not in checkpoint:
        raise CheckpointError(f"{path}: expected a checkpoint with 'model' and 'state_dict' keys")
    if error := label_set_error(checkpoint.get("labels")):
        sets = "; ".join(f"{name} {list(labels)}" for name, labels in LABEL_SETS.items())
        raise CheckpointError(f"{path}: {error} (expected gestures of training.gestures.CATALOGUE, then none, "
                              f"e.g. {sets})")
    model = build_model(checkpoint["model"], pretrained=False, num_classes=len(checkpoint["labels"]))
    model.load_state_dict(checkpoint["state_dict"])
    model.eval()
    return model, {k: v for k, v in checkpoint.items() if k != "state_dict"}


def run_record(checkpoint: Path) -> dict | None:
    """The record `training.train` (or `training.ship`) wrote for `checkpoint`, where there is one."""
    for candidate in (checkpoint.parent / "run.json", checkpoint.with_suffix(".run.json")):
        if candidate.is_file():
            return json.loads(candidate.read_text())
    return None


def recorded_paths(record: dict | None) -> dict | None:
    """A run record with the paths in its config as committed records keep them (`runtime.paths.recorded`)."""
    if record is None:
        return None
    config = {key: recorded(value) if isinstance(value, str) else value for key, value in record["config"].items()}
    return {**record, "config": config}
