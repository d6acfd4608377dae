"""Trivial baselines of a table, computed when it runs and filed beside its cells.

For every column whose data are generated (tiny scale), what the task's own scorer gives with no
model at all: the task's ``trivial_completions`` (accuracy tasks: the training split's majority
answer; summaries: lead-1), scored like a trained arm. A tiny table whose arms do not clearly beat
these compares nothing. The reporter reads these files and never rebuilds a task.
"""

from __future__ import annotations

from pathlib import Path

from mutorbench.evaluation.evaluator import get_scorer
from mutorbench.results import SCHEMA_VERSION, baseline_path, write_baseline
from mutorbench.tasks import GENERATED_TASKS, build_task
from mutorbench.tasks.base import texts_hash


def trivial_baseline(task, split: str = "test") -> dict:
    """``{"name", "rule", "values": {metric: value}}``: the task's trivial baseline on a split."""
    trivial = task.trivial_completions(split)
    values, _ = get_scorer(task.metric)(trivial["completions"],
                                        [answer for _, answer in task.texts(split)])
    return {"name": trivial["name"], "rule": trivial["rule"], "values": values}


def write_trivial_baselines(spec, scale: str, cells, results_root: str | Path) -> list[Path]:
    written = []
    for col in spec.columns:
        cfg = next((c.config for c in cells if c.column == col.id and c.config is not None), None)
        if cfg is None or cfg.task.name not in GENERATED_TASKS:
            continue
        task = build_task(cfg.task)
        split = cfg.eval.report_split
        base = trivial_baseline(task, split)
        written.append(write_baseline(baseline_path(results_root, spec.table, scale, col.id), {
            "schema_version": SCHEMA_VERSION, "kind": "trivial_baseline", "table": spec.table,
            "scale": scale, "column": col.id, "task": task.name, "split": split,
            "name": base["name"], "rule": base["rule"], "values": base["values"],
            "split_hash": texts_hash(task.texts(split))}))
    return written
