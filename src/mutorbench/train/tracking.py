"""Experiment tracking for `mutor-bench train`: the fields of ``log.jsonl`` and every evaluation,
also sent to TensorBoard and/or Weights & Biases (``logging.report_to``).

``log.jsonl`` stays the record of a run; trackers are views of it. Offline-safe: W&B runs in
offline mode unless ``WANDB_MODE`` says otherwise or an API key and the network are there. A
missing package is one line naming the extra to install, before the run folder is touched.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

EXTRA = "pip install 'mutorbench[tracking]'"
PACKAGES = {"tensorboard": "tensorboard", "wandb": "wandb"}


def check_trackers(names) -> None:
    import importlib.util

    for name in names:
        if importlib.util.find_spec(PACKAGES[name]) is None:
            raise ValueError(f"logging.report_to: {name} needs the {PACKAGES[name]} package: "
                             f"{EXTRA}")


def wandb_mode() -> str:
    """``WANDB_MODE`` if set; online only with an API key and a reachable server."""
    if os.environ.get("WANDB_MODE"):
        return os.environ["WANDB_MODE"]
    if not os.environ.get("WANDB_API_KEY"):
        return "offline"
    try:
        socket.create_connection(("api.wandb.ai", 443), timeout=2).close()
    except OSError:
        return "offline"
    return "online"


class Trackers:
    """The run's trackers (rank 0 only); scalars keyed as in ``log.jsonl``, evaluations as
    ``eval/<split>/<value>``."""

    def __init__(self, names, run_dir: Path, *, run_name: str, config: dict):
        self._tb = self._wandb = None
        if "tensorboard" in names:
            from torch.utils.tensorboard import SummaryWriter

            self._tb = SummaryWriter(log_dir=str(run_dir / "tensorboard"))
        if "wandb" in names:
            import wandb

            self._wandb = wandb.init(project=os.environ.get("WANDB_PROJECT", "mutor-bench"),
                                     name=run_name, dir=str(run_dir), config=config,
                                     mode=wandb_mode(), reinit="finish_previous")

    def log_step(self, record: dict) -> None:
        scalars = {k: float(v) for k, v in record.items() if k != "step"
                   and isinstance(v, (int, float))}
        self._write(scalars, record["step"])

    def log_eval(self, step: int, split: str, values: dict) -> None:
        self._write({f"eval/{split}/{k}": float(v) for k, v in values.items()}, step)

    def _write(self, scalars: dict, step: int) -> None:
        if self._tb is not None:
            for key, value in scalars.items():
                self._tb.add_scalar(key, value, step)
        if self._wandb is not None:
            self._wandb.log(scalars, step=step)

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()
        if self._wandb is not None:
            self._wandb.finish()
