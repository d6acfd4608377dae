"""Resumable training state: model, optimizer, scheduler, RNG, data position, bookkeeping.

One file, replaced atomically, so a crash during saving never corrupts the last good checkpoint.
It is loaded with ``weights_only=True`` (no code runs from a checkpoint), so everything in it is a
tensor, number, string, list, tuple or dict; the RNG states are converted to such types here.
It also records what the run was trained on (config, per-split data hashes, tokenizer hash): a
resume on anything else is refused instead of silently mixing two runs.
"""

from __future__ import annotations

import os
import pickle
import random
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from mutorbench.fsio import os_error_message
from mutorbench.identity import changed_splits, describe, diff_keys

FORMAT = "mutor-bench checkpoint 2"  # what read_checkpoint accepts


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
    """Every RNG the run uses, as plain types (numpy's key array becomes a list of ints)."""
    version, internal, gauss = random.getstate()
    name, keys, pos, has_gauss, cached = np.random.get_state()
    state = {"python": [version, list(internal), gauss],
             "numpy": [name, keys.tolist(), int(pos), int(has_gauss), float(cached)],
             "torch": torch.random.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
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


def _error_in(err: BaseException, kind: type[BaseException]) -> BaseException | None:
    """torch.save reports a failed write as a RuntimeError whose context is the real cause (an
    OSError; a KeyboardInterrupt when Ctrl-C lands inside the zip writer)."""
    seen = err
    while seen is not None:
        if isinstance(seen, kind):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def save_checkpoint(path: Path, *, model, optimizer, scheduler, state: TrainState,
                    identity: dict, tokenizer: str | None = None, write: bool = True):
    """Every process calls this (sharded states are gathered collectively); ``write`` on one.

    The file is written beside the old one and renamed over it. On any failure (disk full,
    interrupt) the half-written file is removed and the previous checkpoint stays valid.
    """
    model_state, optim_state = _full_states(model, optimizer)
    if not write:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    blob = {"format": FORMAT, "model": model_state, "optimizer": optim_state,
            "scheduler": scheduler.state_dict(), "state": asdict(state), "rng": rng_state(),
            "identity": identity, "tokenizer": tokenizer}
    try:
        with open(tmp, "wb") as f:  # a Python file object: a failed write raises its OSError
            torch.save(blob, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as err:
        tmp.unlink(missing_ok=True)
        interrupt = _error_in(err, KeyboardInterrupt)
        if interrupt is not None:  # an interrupt, whatever torch made of it
            raise type(interrupt) from None  # Ctrl-C or SIGTERM
        os_err = _error_in(err, OSError)
        if os_err is not None:
            raise ValueError(os_error_message(os_err, f"writing {path}")) from None
        raise


def read_checkpoint(path: Path, *, mmap: bool = False) -> dict:
    """The checkpoint's contents, loaded safely; a foreign or damaged file is one clear error.
    ``mmap``: tensors stay on disk until used (a cheap look at the bookkeeping)."""
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
    except pickle.UnpicklingError as err:  # weights_only refused a type: not ours, never run
        first = str(err).strip().splitlines()[0][:120]
        raise ValueError(f"{path}: not a mutor-bench checkpoint, refused to load it "
                         f"(it holds objects a checkpoint never holds: {first})") from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError) as err:
        raise ValueError(f"{path}: damaged or truncated checkpoint ({type(err).__name__}); "
                         "delete it to restart the run from step 0") from None
    if not isinstance(blob, dict) or blob.get("format") != FORMAT:
        raise ValueError(f"{path}: not a checkpoint of this mutor-bench version; choose another "
                         "output_dir or run_name (or --retrain) to start a new run")
    return blob


def check_identity(path: Path, recorded: dict, expected: dict) -> None:
    """Refuse to resume a run on another config, other data or another tokenizer."""
    for key in ("config", "data", "tokenizer"):
        old, new = recorded.get(key), expected.get(key)
        if old == new:
            continue
        if key == "config":
            detail = "checkpointed -> now: " + describe(diff_keys(old or {}, new), old or {}, new)
        elif key == "data":
            detail = f"split {', '.join(changed_splits(old, new))} changed since it was checkpointed"
        else:
            detail = "the vocabulary or merges changed"
        raise ValueError(f"{path}: cannot resume, the {key} differs from the checkpointed run "
                         f"({detail}); restore it, or start a new run (another output_dir or "
                         "run_name, or `run --retrain`)")


def load_checkpoint(path: Path, *, model, optimizer, scheduler, identity: dict) -> TrainState:
    from torch.distributed.checkpoint.state_dict import (
        StateDictOptions,
        set_model_state_dict,
        set_optimizer_state_dict,
    )

    blob = read_checkpoint(path)
    check_identity(path, blob.get("identity") or {}, identity)
    options = StateDictOptions(full_state_dict=True)
    try:
        set_model_state_dict(model, blob["model"], options=options)
        set_optimizer_state_dict(model, optimizer, blob["optimizer"], options=options)
        scheduler.load_state_dict(blob["scheduler"])
        set_rng_state(blob["rng"])
        return TrainState(**blob["state"])
    except (KeyError, TypeError, ValueError, RuntimeError) as err:
        raise ValueError(f"{path}: checkpoint does not fit this run's model or optimizer "
                         f"({type(err).__name__}: {str(err).splitlines()[0][:120]})") from None
