"""Resumable training state: model, optimizer, scheduler, RNG, data position, bookkeeping.

One file, replaced atomically, so a crash during saving never corrupts the last good checkpoint.
"""

from __future__ import annotations

import os
import random
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch


@dataclass
class TrainState:
    step: int = 0  # optimizer steps completed
    order_hash: str = ""  # running hash of the consumed example indices
    regular_tokens: int = 0
    register_tokens: int = 0
    train_seconds: float = 0.0
    step_times: list[float] = field(default_factory=list)
    checkpoints: list[dict] = field(default_factory=list)  # evaluated checkpoints


def rng_state() -> dict:
    state = {"python": random.getstate(), "numpy": np.random.get_state(),
             "torch": torch.random.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.random.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _full_states(model, optimizer) -> tuple[dict, dict]:
    """Full (unsharded) model and optimizer states; a collective call when the model is sharded."""
    from torch.distributed.checkpoint.state_dict import (
        StateDictOptions,
        get_model_state_dict,
        get_optimizer_state_dict,
    )

    options = StateDictOptions(full_state_dict=True, cpu_offload=True)
    return (get_model_state_dict(model, options=options),
            get_optimizer_state_dict(model, optimizer, options=options))


def save_checkpoint(path: Path, *, model, optimizer, scheduler, state: TrainState, config: dict,
                    write: bool = True):
    """Every process calls this (sharded states are gathered collectively); ``write`` on one."""
    model_state, optim_state = _full_states(model, optimizer)
    if not write:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save({"model": model_state, "optimizer": optim_state,
                "scheduler": scheduler.state_dict(), "state": asdict(state), "rng": rng_state(),
                "config": config}, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: Path, *, model, optimizer, scheduler, config: dict) -> TrainState:
    from torch.distributed.checkpoint.state_dict import (
        StateDictOptions,
        set_model_state_dict,
        set_optimizer_state_dict,
    )

    blob = torch.load(path, map_location="cpu", weights_only=False)
    if blob["config"] != config:
        raise ValueError(f"{path} belongs to a run with a different config; "
                         "choose another run_name or output_dir to start a new run")
    options = StateDictOptions(full_state_dict=True)
    set_model_state_dict(model, blob["model"], options=options)
    set_optimizer_state_dict(model, optimizer, blob["optimizer"], options=options)
    scheduler.load_state_dict(blob["scheduler"])
    set_rng_state(blob["rng"])
    return TrainState(**blob["state"])
