"""Trivial baselines of a table, computed when it runs and filed beside its cells.

For every column whose data are generated (tiny scale), what the task's own scorer gives with no
model at all: the task's ``trivial_completions`` (accuracy tasks: the training split's majority
answer; summaries: lead-1), scored like a trained arm. For image columns at tiny scale, the image
metrics of the task's ``trivial_images`` (digits: every pixel from its training marginal, and the
training images themselves, the best a model of the data can do) against the same reference split,
in the same feature space and with as many images as the arms sample. A tiny table whose arms do
not clearly beat these compares nothing. The reporter reads these files and never rebuilds a task.
"""

from __future__ import annotations

from pathlib import Path

from mutorbench.evaluation.evaluator import get_scorer
from mutorbench.registry import TASKS
from mutorbench.results import SCHEMA_VERSION, baseline_path, write_baseline
from mutorbench.tasks import GENERATED_TASKS, build_task


def trivial_baseline(task, split: str = "test") -> dict:
    """``{"name", "rule", "values": {metric: value}}``: the task's trivial baseline on a split."""
    trivial = task.trivial_completions(split)
    values, _ = get_scorer(task.metric)(trivial["completions"],
                                        [answer for _, answer in task.texts(split)])
    return {"name": trivial["name"], "rule": trivial["rule"], "values": values}


def image_baselines(task, eval_cfg, seed: int = 0) -> list[dict]:
    """``[{"key", "name", "rule", "values", "settings"}]``: the task's trivial image sets scored
    as the image evaluator scores an arm (same reference split, feature space, sample count)."""
    from mutorbench.evaluation.image_evaluator import ImageEvalConfig
    from mutorbench.evaluation.image_fidelity import image_metrics

    s = eval_cfg.images or ImageEvalConfig()
    extractor, weights = task.feature_space(s.feature_cache)
    reference = task.reference(eval_cfg.report_split)
    out = []
    for key, rule, images in task.trivial_images(s.num_samples, seed):
        values, settings = image_metrics(images, reference, extractor=extractor,
                                         weights_path=weights)
        out.append({"key": key, "name": key.replace("_", " "), "rule": rule, "values": values,
                    "settings": settings})
    return out


def write_trivial_baselines(spec, scale: str, cells, results_root: str | Path) -> list[Path]:
    written, scored = [], {}
    for col in spec.columns:
        cfg = next((c.config for c in cells if c.column == col.id and c.config is not None), None)
        if cfg is None or (cfg.task.name not in GENERATED_TASKS
                           and not TASKS.get(cfg.task.name).trivial_images_offline):
            continue
        task = build_task(cfg.task)
        split = cfg.eval.report_split
        head = {"schema_version": SCHEMA_VERSION, "kind": "trivial_baseline", "table": spec.table,
                "scale": scale, "column": col.id, "task": task.name, "split": split,
                "split_hash": task.split_hash(split)}
        if not task.generates_images:
            base = trivial_baseline(task, split)
            written.append(write_baseline(baseline_path(results_root, spec.table, scale, col.id),
                                          head | base))
            continue
        # step columns share their task and sampling settings: scored once for all of them
        key = (cfg.task.model_dump_json(), cfg.eval.model_dump_json())
        if key not in scored:
            scored[key] = image_baselines(task, cfg.eval)
        for base in scored[key]:
            written.append(write_baseline(
                baseline_path(results_root, spec.table, scale, col.id, base["key"]),
                head | base))
    return written
