"""`mutor-bench demo`: next-token vs MuToR on a tiny model, trained from scratch on generated problems.

Both arms run through the real training loop (`mutor-bench train`) with the same seed — same
initial weights, same batches in the same order — and write result JSONs under ``results/demo/``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from mutorbench.results import load_result
from mutorbench.train.config import load_config
from mutorbench.train.loop import train

# Each option of the demo is a key of the run config, checked there (not again here); an
# error names the option. d_max and a belong to the MuToR arm only.
RUN_KEYS = {"steps": "budget.amount", "batch_size": "batch.micro_batch_size", "lr": "optim.lr",
            "seed": "seed", "train_examples": "task.train_examples",
            "eval_examples": "task.eval_examples", "arch": "model.arch",
            "hidden_size": "model.hidden_size", "num_layers": "model.num_layers",
            "d_max": "method.d_max", "a": "method.a"}
ARMS = {"ntp": ("method.id=ntp",), "mutor": ("method.id=mutor",)}
ARM_OPTIONS = {"mutor": ("d_max", "a")}


@dataclass
class DemoConfig:
    """The demo's own defaults for the run config keys above."""
    steps: int = 600
    batch_size: int = 16
    lr: float = 3e-3
    seed: int = 0
    train_examples: int = 2000
    eval_examples: int = 128
    arch: str = "gemma"
    hidden_size: int = 96
    num_layers: int = 2
    d_max: int = 4
    a: float = 0.3
    output_dir: str = "results/demo"

    def run_config(self, arm: str, run_dir: str):
        others = {k for opts in ARM_OPTIONS.values() for k in opts} - set(ARM_OPTIONS.get(arm, ()))
        sets = {name: f"{RUN_KEYS[name]}={getattr(self, name)}" for name in RUN_KEYS
                if name not in others}  # another arm's options
        try:
            return load_config(None, [*sets.values(), "budget.kind=steps", f"output_dir={run_dir}",
                                      *ARMS[arm]])
        except ValueError as err:
            for name, key in RUN_KEYS.items():
                if f" at {key}:" in str(err):
                    raise ValueError(f"--{name.replace('_', '-')} {getattr(self, name)}: "
                                     f"{err}") from None
            raise


def run_demo(cfg: DemoConfig) -> dict:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    run_dir = f"{cfg.output_dir}/{stamp}"
    configs = {arm: cfg.run_config(arm, run_dir) for arm in ARMS}
    summary = {}
    for method, run_cfg in configs.items():
        path = train(run_cfg)
        result = load_result(path)
        summary[method] = {
            "final_loss": _final_losses(path.parent / "log.jsonl"),
            "accuracy": result.metrics.selected.values["accuracy"],
            "tokens_per_s": result.throughput.regular_tokens_per_s
            + result.throughput.register_tokens_per_s,
        }
    _print(cfg, summary, run_dir)
    return summary


def _final_losses(log: Path) -> dict:
    """Mean of the last 20 logged steps, read back from the run's log."""
    rows = [json.loads(line) for line in log.read_text().splitlines()][-20:]
    keys = [k for k in rows[0] if k.startswith("loss")]
    return {k: sum(r[k] for r in rows) / len(rows) for k in keys}


def _print(cfg: DemoConfig, summary: dict, run_dir: str) -> None:
    print(f"\ndemo summary: {cfg.steps} steps x batch {cfg.batch_size}, tiny {cfg.arch} "
          f"(hidden {cfg.hidden_size}, {cfg.num_layers} layers) from scratch, seed {cfg.seed}; "
          f"MuToR d_max={cfg.d_max}, a={cfg.a}")
    print(f"{'method':<8}{'loss':>8}{'regular':>9}{'register':>10}{'accuracy %':>12}{'tok/s':>9}")
    for mid, r in summary.items():
        fl = r["final_loss"]
        reg = f"{fl['loss_register']:.3f}" if "loss_register" in fl else "-"
        print(f"{mid:<8}{fl['loss']:>8.3f}{fl['loss_regular']:>9.3f}{reg:>10}"
              f"{r['accuracy']:>12.1f}{r['tokens_per_s']:>9.0f}")
    print(f"(loss: mean of the last 20 steps; accuracy: exact '#### N' on {cfg.eval_examples} "
          f"held-out generated problems, greedy with bidirectional prefill; results in {run_dir})")
