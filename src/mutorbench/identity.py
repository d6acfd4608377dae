"""What makes two runs the same run: the training config without where it is filed.

Shared by resume (train/checkpoint.py), reuse and skipping (bench/) and the report's refusal to
average seeds trained differently, so every one of them compares the same thing (config keys and
per-split data hashes).
"""

from __future__ import annotations

import copy
import hashlib
import json

# where a cell's result is filed, not how it is trained
BOOKKEEPING = ("table", "scale", "cell", "output_dir", "run_name", "export", "logging")
# an image task's scoring files (decoder, reference batch, feature extractor): where they lie
SCORING_FILES = ("vq_checkpoint", "reference_batch", "inception_weights")


def training_tree(tree: dict, *, drop_seed: bool = False) -> dict:
    """The config tree less bookkeeping and cache paths (and the seed, to compare seeds)."""
    out = copy.deepcopy(tree)
    for key in BOOKKEEPING + (("seed",) if drop_seed else ()):
        out.pop(key, None)
    pretrain = out.get("model", {}).get("pretrain") if isinstance(out.get("model"), dict) else None
    if isinstance(pretrain, dict):  # a base is identified by its recipe, not where it is cached
        pretrain.pop("cache_dir", None)
    images = out.get("eval", {}).get("images") if isinstance(out.get("eval"), dict) else None
    if isinstance(images, dict):  # likewise the feature space (results record its weights' hash)
        images.pop("feature_cache", None)
    task = out.get("task")
    if isinstance(task, dict):  # and the scoring files' locations (results record their hashes)
        for key in SCORING_FILES:
            task.pop(key, None)
    return out


def training_hash(tree: dict) -> str:
    """sha256 of a resolved config tree's training part (``training_tree``)."""
    return hashlib.sha256(json.dumps(training_tree(tree), sort_keys=True).encode()).hexdigest()


# how a finished run is read, not how it is trained or evaluated: cells that differ only here (the
# image tables' 100K / 200K / 360K columns) share one training run, each re-selected by its own rule
READING_KEYS = (("eval", "report_step"),)


def reuse_hash(tree: dict) -> str:
    """``training_hash`` without the reading keys: the runs one training can stand for."""
    out = training_tree(tree)
    for section, key in READING_KEYS:
        if isinstance(out.get(section), dict):
            out[section].pop(key, None)
    return hashlib.sha256(json.dumps(out, sort_keys=True).encode()).hexdigest()


def diff_keys(a, b, prefix: str = "") -> list[str]:
    """Dotted keys whose values differ between two config trees."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b), key=str):
            out += diff_keys(a.get(k), b.get(k), f"{prefix}{k}.")
        return out
    return [] if a == b else [prefix.rstrip(".") or "config"]


def changed_splits(recorded: dict | None, now: dict) -> list[str]:
    """Splits whose data hash differs between a finished run and now (all, if none recorded)."""
    recorded = recorded or {}
    return sorted(s for s in set(recorded) | set(now) if recorded.get(s) != now.get(s))


def describe(keys: list[str], a: dict | None = None, b: dict | None = None) -> str:
    """'budget.amount 10 -> 20, optim.lr 0.003 -> 0.001' (at most five keys)."""
    def value(tree, key):
        for part in key.split("."):
            tree = tree.get(part) if isinstance(tree, dict) else None
        return tree

    shown = [f"{k} {value(a, k)!r} -> {value(b, k)!r}" if a is not None else k for k in keys[:5]]
    return ", ".join(shown) + (f" (+{len(keys) - 5} more)" if len(keys) > 5 else "")
