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


@dataclass
class DemoConfig:
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

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "train_examples", "eval_examples", "hidden_size",
                     "num_layers", "d_max"):
            if getattr(self, name) < 1:
                raise ValueError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(self, name)}")
        if self.hidden_size % 4:
            raise ValueError(f"--hidden-size must be a multiple of 4 (4 heads), got {self.hidden_size}")

    def overrides(self, method: str, run_dir: str) -> list[str]:
        sets = [f"seed={self.seed}", f"optim.lr={self.lr}", f"batch.micro_batch_size={self.batch_size}",
                f"task.train_examples={self.train_examples}",
                f"task.eval_examples={self.eval_examples}", f"model.arch={self.arch}",
                f"model.hidden_size={self.hidden_size}", f"model.num_layers={self.num_layers}",
                "budget.kind=steps", f"budget.amount={self.steps}", f"output_dir={run_dir}",
                f"method.id={method}"]
        return sets + self.arms()[method]

    def arms(self) -> dict[str, list[str]]:
        """The two arms and their method options."""
        return {"ntp": [], "mutor": [f"method.d_max={self.d_max}", f"method.a={self.a}"]}


def run_demo(cfg: DemoConfig) -> dict:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    run_dir = f"{cfg.output_dir}/{stamp}"
    configs = {m: load_config(None, cfg.overrides(m, run_dir)) for m in cfg.arms()}
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
