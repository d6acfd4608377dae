"""Finished cells shared between tables.

The paper repeats cells across tables (Table 4's d_max=4 MuToR and d_max=2 Multi-Token are Table 1's
cells; Table 5's full fine-tuning row and Table 6's "Same" row are Table 1's). A cell whose resolved
training config equals one already finished under the same results root is copied with its new
table/cell labels and `reused_from`, not trained again: same config, same seed, same result.
Cells that differ only in which evaluation they report (``eval.report_step``: Table 7's columns)
share one run too; each copy is re-selected by its own cell's rule (selection.py).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from mutorbench.identity import BOOKKEEPING, reuse_hash, training_tree  # noqa: F401 (tests)
from mutorbench.results import write_result
from mutorbench.selection import select_by
from mutorbench.train.config import RunConfig, config_tree, parse_config


def training_key(tree: dict) -> str:
    """sha256 of the config with defaults filled in and bookkeeping, cache paths and the reading
    keys (identity.READING_KEYS) left out."""
    return reuse_hash(config_tree(parse_config(tree)))


def index_results(root: str | Path) -> dict[str, Path]:
    """training key -> result.json of every finished, original (not itself reused) train result
    whose stored config is complete: one with keys that parsing fills by default (written by an
    older version, or by a worker that dropped fields) could be another cell's, so it is never
    reused."""
    index: dict[str, Path] = {}
    for path in sorted(Path(root).glob("*/*/*/result.json")):  # <table>/<scale>/<run>/
        try:
            data = json.loads(path.read_text())
            if data.get("kind") != "train" or data.get("reused_from"):
                continue
            stored = training_tree(data["config"])
            full = training_tree(config_tree(parse_config(data["config"])))
            if full != stored:  # keys filled by defaults: the file does not say what ran
                continue
            key = reuse_hash(full)
        except (ValueError, KeyError, TypeError, AttributeError):
            continue  # unreadable, or written by a version whose config no longer parses
        index.setdefault(key, path)
    return index


def copy_result(cfg: RunConfig, source: Path, dest: Path) -> Path:
    """Write ``source``'s result as ``cfg``'s cell; everything but the labels and the selection
    (``cfg``'s own rule over the same recorded evaluations) stays as measured.

    The training log and the logged generations come along (the report's paired deltas read
    them), so the cell's folder stands on its own; the result is written last, as in training.
    """
    data = json.loads(source.read_text())
    data.update(table=cfg.table, cell=cfg.cell, scale=cfg.scale, config=config_tree(cfg),
                reused_from=data.get("reused_from") or str(source))  # the run that trained
    data["metrics"]["selected"] = select_by(data["metrics"]["checkpoints"], cfg.eval)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if (source.parent / "generations").is_dir():
        shutil.copytree(source.parent / "generations", dest.parent / "generations",
                        dirs_exist_ok=True)
    if (source.parent / "log.jsonl").is_file():
        shutil.copy2(source.parent / "log.jsonl", dest.parent / "log.jsonl")
    return write_result(dest, data)
