"""Where training runs (`training.train --device`): the CPU, or a CUDA GPU with mixed precision.

On CUDA the forward pass runs under float16 autocast and the loss is scaled (`GradScaler`) so that small
gradients survive float16; on the CPU both are off and training is exactly as before.
"""

from __future__ import annotations

import logging

import torch

log = logging.getLogger(__name__)

DEVICE_CHOICES = "auto (CUDA when present), cpu, cuda or cuda:N"


def resolve_device(name: str) -> torch.device:
    """The device `--device name` asks for. CUDA asked for where there is none falls back to the CPU with a warning
    that says why, so a command written for a GPU machine still runs (slowly) elsewhere."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError as error:
        raise ValueError(f"--device {name!r}: expected {DEVICE_CHOICES}") from error
    if device.type not in ("cpu", "cuda"):
        raise ValueError(f"--device {name!r}: expected {DEVICE_CHOICES}")
    if device.type == "cuda" and not torch.cuda.is_available():
        log.warning("--device %s: no CUDA device here (PyTorch %s, built for CUDA %s): training on the CPU",
                    name, torch.__version__, torch.version.cuda or "none")
        return torch.device("cpu")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise ValueError(f"--device {name}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    return device


def autocast(device: torch.device) -> torch.autocast:
    """float16 autocast on CUDA; a no-op on the CPU."""
    return torch.autocast(device.type, dtype=torch.float16, enabled=device.type == "cuda")


def grad_scaler(device: torch.device) -> torch.amp.GradScaler:
    """Loss scaling for float16 on CUDA; disabled (steps the optimiser as is) on the CPU."""
    return torch.amp.GradScaler(device.type, enabled=device.type == "cuda")
