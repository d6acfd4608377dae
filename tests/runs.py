"""Tiny run configs for the training-loop tests (seconds each on CPU)."""

import json
from pathlib import Path

from mutorbench.train.config import load_config

BASE = ["task.train_examples=48", "task.eval_examples=4", "model.hidden_size=32",
        "batch.micro_batch_size=4", "budget.kind=epochs", "budget.amount=2", "eval.max_new_tokens=12",
        "tokenizer.vocab_size=300"]


def tiny_run(out: Path, method: str = "ntp", *sets: str):
    extra = ["method.id=" + method] + (["method.d_max=3"] if method == "mutor" else [])
    return load_config(None, [*BASE, f"output_dir={out}", *extra, *sets])


def log_of(result_path: Path) -> list[dict]:
    return [json.loads(x) for x in (result_path.parent / "log.jsonl").read_text().splitlines()]
