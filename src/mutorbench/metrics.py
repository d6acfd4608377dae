"""What a metric is, in one place: its direction, unit, per-example record and plotting range.

Checkpoint selection, the result schema's allowed names, the reporter's paired deltas and the
plots all read these records; a new metric is one ``register_metric`` call.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    name: str
    higher_is_better: bool = True
    unit: str = "percent"  # "percent" (0-100, as the paper prints) or "raw"
    # the key of the logged per-example record used for paired deltas (None: not per example,
    # e.g. FID); ``verdict``: that record is a bool (correct or not), scored as 0 or 100
    per_example: str | None = None
    verdict: bool = False
    plot_range: tuple[float, float] | None = (0.0, 100.0)  # None: let the plot choose
    decimals: int = 2  # as reports print it (the paper: 0.830 for precision and recall)
    tolerance: float = 1.0  # a golden value's default drift limit (`check --bless`), in its unit

    @property
    def axis_label(self) -> str:
        arrow = "↑" if self.higher_is_better else "↓"
        return f"{self.name} (%) {arrow}" if self.unit == "percent" else f"{self.name} {arrow}"


METRICS: dict[str, Metric] = {}


def register_metric(metric: Metric) -> Metric:
    if metric.name in METRICS:
        raise ValueError(f"metric {metric.name!r} is registered twice")
    if metric.unit not in ("percent", "raw"):
        raise ValueError(f"metric {metric.name!r}: unit must be 'percent' or 'raw'")
    METRICS[metric.name] = metric
    return metric


def set_metric_axis(ax, name: str) -> None:
    """A matplotlib axis labelled and ranged for the metric (unknown names: label only)."""
    record = METRICS.get(name)
    ax.set_ylabel(record.axis_label if record else name)
    if record is not None and record.plot_range is not None:
        ax.set_ylim(*record.plot_range)


def get_metric(name: str) -> Metric:
    if name not in METRICS:
        raise ValueError(f"unknown metric {name!r}; known: {', '.join(METRICS)}")
    return METRICS[name]


for _metric in (
    Metric("accuracy", per_example="correct", verdict=True),
    *(Metric(name, per_example=name) for name in ("rouge1", "rouge2", "rougeL", "rougeLsum")),
    Metric("solve_rate", per_example="correct", verdict=True),
    Metric("decisive_accuracy", per_example="decisive_correct", verdict=True),
    Metric("token_accuracy", per_example="token_accuracy"),
    # a diagnostic of MuToR arms on the star graph: the register aimed at that path node
    Metric("register_decisive_accuracy", per_example="register_decisive_correct", verdict=True),
    Metric("register_parent_goal_accuracy", per_example="register_parent_goal_correct",
           verdict=True),
    # image generation (Table 7): computed over the whole sample set, no per-example record
    Metric("fid", higher_is_better=False, unit="raw", plot_range=None),
    Metric("inception_score", unit="raw", plot_range=None, tolerance=0.1),
    Metric("precision", unit="raw", plot_range=(0.0, 1.0), decimals=3, tolerance=0.01),
    Metric("recall", unit="raw", plot_range=(0.0, 1.0), decimals=3, tolerance=0.01),
):
    register_metric(_metric)
