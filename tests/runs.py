"""Tiny run configs for the training-loop tests (seconds each on CPU)."""

import json
from pathlib import Path

from mutorbench.registry import TASKS
from mutorbench.train.config import load_config

BASE = ["task.train_examples=48", "task.eval_examples=4", "model.hidden_size=32",
        "batch.micro_batch_size=4", "budget.kind=epochs", "budget.amount=2", "eval.max_new_tokens=12",
        "tokenizer.vocab_size=300"]


def base_for(sets, base=BASE) -> list[str]:
    """BASE less what the run's sections do not have (a config key a run would ignore is an
    error): example counts for a task read from files, tiny sizes for a pretrained model."""
    given = dict(s.split("=", 1) for s in sets if "=" in s)
    name = given.get("task.name", "arith")
    fields = TASKS.get(name).Config.model_fields if name in TASKS else {}  # unknown: its error
    pretrained = given.get("model.source") == "pretrained"

    def applies(key: str) -> bool:
        section, _, name = key.partition(".")
        if section == "task":
            return name in fields
        return not (pretrained and section in ("model", "tokenizer"))
    return [s for s in base if applies(s.split("=", 1)[0])]


def tiny_run(out: Path, method: str = "ntp", *sets: str):
    extra = ["method.id=" + method] + (["method.d_max=3"] if method == "mutor" else [])
    return load_config(None, [*base_for(sets), f"output_dir={out}", *extra, *sets])


def log_of(result_path: Path) -> list[dict]:
    return [json.loads(x) for x in (result_path.parent / "log.jsonl").read_text().splitlines()]
