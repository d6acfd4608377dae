"""Which evaluation of a run its result reports: the checkpoint-selection rule, as data.

- ``best``: the best ``eval.metric`` on the selection split (the paper's rule for its text tables);
- ``last``: the last evaluation;
- ``at_step``: the evaluation at ``eval.report_step`` (Tables 7-9 and 15 report one image run at
  100K, 200K and 360K steps: one training run serves every such column, bench/runner.py).

The reported values always come from the report split at the chosen step. A pure function of the
recorded checkpoints, so a result copied for another cell is re-selected by that cell's rule
(bench/reuse.py) and never carries another column's number.
"""

from __future__ import annotations

from mutorbench.metrics import get_metric


def select(checkpoints: list[dict], rule: str, metric: str, select_split: str,
           report_split: str, *, step: int | None = None) -> dict:
    """Pick a step by ``metric`` on ``select_split``, the last step, or ``step``; report
    ``report_split`` there."""
    candidates = [c for c in checkpoints if c["split"] == select_split]
    if not candidates:
        return {"rule": rule, "checkpoint": None, "values": {}}
    if rule == "last":
        chosen = candidates[-1]
        label = f"last, reported on {report_split}"
    elif rule == "at_step":
        chosen = next((c for c in candidates if c["step"] == step), None)
        if chosen is None:  # never report a neighbouring step as this one
            raise ValueError(f"eval.report_step {step} is not an evaluation of this run "
                             f"(evaluated at steps {sorted({c['step'] for c in candidates})})")
        label = f"at step {step}, reported on {report_split}"
    else:
        missing = [c["step"] for c in candidates if metric not in c["values"]]
        if missing:  # never pick a checkpoint by a value it does not have
            raise ValueError(f"selection metric {metric!r} is not among the evaluated values "
                             f"{sorted(candidates[0]['values'])}")
        sign = 1 if get_metric(metric).higher_is_better else -1
        chosen = max(candidates, key=lambda c: sign * c["values"][metric])
        label = f"best {metric} on {select_split}, reported on {report_split}"
    reported = next(c for c in checkpoints
                    if c["step"] == chosen["step"] and c["split"] == report_split)
    return {"rule": label, "checkpoint": reported, "values": dict(reported["values"])}


def select_by(checkpoints: list[dict], eval_cfg) -> dict:
    """``select`` with a run's ``eval`` section."""
    return select(checkpoints, eval_cfg.selection, eval_cfg.metric, eval_cfg.select_split,
                  eval_cfg.report_split, step=eval_cfg.report_step)
