"""Where training runs (`training.train --device`) and in what precision (`--precision`): `auto` is float16
autocast with loss scaling on CUDA and float32 on the CPU; `bfloat16` autocasts on either device without scaling
(fast on CPUs with AVX-512 BF16 or AMX); `float32` never autocasts.
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


PRECISIONS = ("auto", "bfloat16", "float32")


def autocast_dtype(device: torch.device, precision: str = "auto") -> torch.dtype | None:
    """The dtype the forward pass is autocast to under `--precision`; None for plain float32."""
    if precision not in PRECISIONS:
        raise ValueError(f"--precision {precision!r}: expected one of {', '.join(PRECISIONS)}")
    if precision == "bfloat16":
        return torch.bfloat16
    return torch.float16 if precision == "auto" and device.type == "cuda" else None


def autocast(device: torch.device, precision: str = "auto") -> torch.autocast:
    """The forward pass's autocast under `--precision` (a no-op for float32)."""
    dtype = autocast_dtype(device, precision)
    return torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None)


def grad_scaler(device: torch.device, precision: str = "auto") -> torch.amp.GradScaler:
    """Loss scaling where the forward pass runs in float16; disabled (steps the optimiser as is) otherwise."""
    return torch.amp.GradScaler(device.type, enabled=autocast_dtype(device, precision) == torch.float16)
