"""Process-group plumbing for torchrun / `accelerate launch` (both set RANK and WORLD_SIZE)."""

from __future__ import annotations

import os
from contextlib import nullcontext
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Dist:
    rank: int = 0
    world: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def all_sum(self, values: list[float]) -> list[float]:
        """Sum a short list of numbers over processes (float64, so counts stay exact)."""
        if self.world == 1:
            return list(values)
        t = torch.tensor(values, dtype=torch.float64,
                         device=self.device if self.device.type == "cuda" else "cpu")
        dist.all_reduce(t)
        return t.tolist()

    def barrier(self) -> None:
        if self.world > 1:
            dist.barrier()


def init_distributed() -> Dist:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if torch.cuda.is_available():
        torch.cuda.set_device(local_rank)
        device = torch.device("cuda", local_rank)
    else:
        device = torch.device("cpu")
    if world > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return Dist(rank, world, local_rank, device)


def wrap(model, dist_info: Dist, strategy: str):
    """Replicate (DDP) or shard (FSDP2: each decoder layer, then the root) across processes."""
    if dist_info.world == 1:
        return model
    if strategy == "ddp":
        ids = [dist_info.local_rank] if dist_info.device.type == "cuda" else None
        return torch.nn.parallel.DistributedDataParallel(model, device_ids=ids)
    from torch.distributed.fsdp import fully_shard

    from mutorbench.models.adapters import adapter_for

    for layer in adapter_for(model).layers_of(model):  # each decoder layer, then the root
        fully_shard(layer)
    fully_shard(model)
    return model


def no_sync(model, skip: bool):
    """Skip the gradient reduction on all but the last micro-batch of a step."""
    if skip and hasattr(model, "no_sync"):  # DDP
        return model.no_sync()
    if hasattr(model, "set_requires_gradient_sync"):  # FSDP2
        model.set_requires_gradient_sync(not skip)
    return nullcontext()


def is_sharded(model) -> bool:
    return hasattr(model, "set_requires_gradient_sync")


def shutdown() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()
