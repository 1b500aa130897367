"""Training on several processes with PyTorch's own engine: `torchrun --nproc_per_node N -m training.train ...`.
Each process joins the group (NCCL on GPUs, Gloo on CPUs) and trains on every N-th of the one-process run's draws
(`BalancedSampler`), so N processes train on exactly what one would; only rank 0 writes and logs.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import Sampler

from training.device import resolve_device

log = logging.getLogger(__name__)

GROUP_TIMEOUT = timedelta(hours=6)
"""How long a process waits at a barrier: long enough for local rank 0 to decode HaGRID's full layout into the cache
while the others wait for it (NCCL's and Gloo's default, 10 to 30 minutes, is not)."""


@dataclass(frozen=True)
class Processes:
    """This process's place among the training processes, and its device; one process (rank 0 of 1) without
    torchrun."""

    device: torch.device
    rank: int = 0
    local_rank: int = 0
    world_size: int = 1
    owns_group: bool = True
    """Whether `start` joined the process group, so that `finish` leaves it; False when a caller that runs several
    steps in one group (`training.recipe`) had joined it already."""

    @property
    def is_main(self) -> bool:
        """Whether this process writes checkpoints and the run record."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def start(device_name: str) -> Processes:
    """Join torchrun's process group if this process was started by it; this process's place and device. Under
    torchrun a CUDA device is the one of this process's local rank, whatever index `--device` names."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    device = resolve_device(device_name)
    if world_size == 1:
        return Processes(device)
    rank, local_rank = int(os.environ["RANK"]), int(os.environ["LOCAL_RANK"])
    if device.type == "cuda":
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    owns_group = not dist.is_initialized()  # joined anew per run in one process, Gloo dialled the last group's ports
    if owns_group:
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo", timeout=GROUP_TIMEOUT)
    log.info("process %d of %d (local %d) on %s, backend %s", rank, world_size, local_rank, device, dist.get_backend())
    return Processes(device, rank, local_rank, world_size, owns_group)


def is_main_process() -> bool:
    """Whether this process is rank 0 (or alone), from torchrun's environment."""
    return os.environ.get("RANK", "0") == "0"


def finish(processes: Processes) -> None:
    """Wait until every process is done, then leave the process group if `start` joined it."""
    if processes.distributed:
        dist.barrier()
        if processes.owns_group:
            dist.destroy_process_group()


@contextmanager
def local_main_first(processes: Processes) -> Iterator[None]:
    """Local rank 0 runs the block first (building the caches on its machine), the others after it, from the cache."""
    if processes.distributed and processes.local_rank != 0:
        dist.barrier()
    yield
    if processes.distributed and processes.local_rank == 0:
        dist.barrier()


def mean_across(processes: Processes, value: float) -> float:
    """The mean of `value` over the processes (each process's mean training loss: equal batch counts)."""
    if not processes.distributed:
        return value
    total = torch.tensor([value], dtype=torch.float64)
    dist.all_reduce(total)
    return float(total.item()) / processes.world_size


def share_buffers(processes: Processes, module: torch.nn.Module) -> None:
    """Rank 0's buffers (BatchNorm's running statistics) in every process: DDP sends them at the start of each
    forward pass, and each process's last pass moved its own, so the processes would validate slightly different
    models, none of them the one rank 0 saves."""
    if processes.distributed:
        for buffer in module.buffers():
            dist.broadcast(buffer, src=0)


def gather_rows(processes: Processes, local: np.ndarray, total: int) -> np.ndarray:
    """The whole [total, ...] array on every process, from each process's rows `rank::world_size`."""
    if not processes.distributed:
        return local
    parts: list[np.ndarray | None] = [None] * processes.world_size
    dist.all_gather_object(parts, local)
    whole = np.empty((total, *local.shape[1:]), dtype=local.dtype)
    for rank, part in enumerate(parts):
        whole[rank::processes.world_size] = part
    return whole


class BalancedSampler(Sampler[int]):
    """`num_samples` indices drawn with replacement by `weights`, seeded by seed and epoch so that every process (and a
    resumed run) draws the same; this process yields every `world_size`-th draw from its rank. (DistributedSampler
    has no weights; WeightedRandomSampler does not shard.)"""

    def __init__(self, weights: torch.Tensor, num_samples: int, seed: int, rank: int = 0, world_size: int = 1) -> None:
        self.weights, self.seed, self.epoch = weights, seed, 0
        self.rank, self.world_size = rank, world_size
        self.num_samples = num_samples - num_samples % self.world_size

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self) -> Iterator[int]:
        generator = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        draws = torch.multinomial(self.weights, self.num_samples, replacement=True, generator=generator)
        return iter(draws[self.rank::self.world_size].tolist())

    def __len__(self) -> int:
        return self.num_samples // self.world_size
