"""Learning curves of a table: every evaluation each cell logged, as mean and range over seeds.

A final number alone cannot tell "never learned" from "learned late" or "escaped on one seed"; the
star graph (Fig. 4) needs the curve. Reads the checkpoints of finished results (``eval.every_steps``
adds points between epoch ends) and writes reports/TABLE-curves.{csv,png} and a markdown section.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from mutorbench.metrics import set_metric_axis
from mutorbench.results import load_result, result_path_of
from mutorbench.spec import expand

EVERY_STEP = "one run per row (the columns are its steps)"


def curves_frame(spec, scale: str, *, results_root="results") -> pd.DataFrame:
    """A line per (row, column, seed, step): the column's first metric on the selection split
    (the one recipes are chosen on: validation where the spec tunes, so the curves never read
    the test set between the reported numbers). Columns that are steps of one run (selection
    at_step) are that run's one curve, under the column label ``EVERY_STEP``."""
    from mutorbench.identity import reuse_hash

    records, seen = [], set()
    for cell in expand(spec, scale, output_root=results_root):
        if cell.status != "run":  # only run cells have a config
            continue
        path = result_path_of(cell.config)
        if not path.exists():
            continue
        column = cell.column
        if cell.config.eval.selection == "at_step":
            run = (cell.row, cell.seed, reuse_hash(cell.tree))
            if run in seen:
                continue
            seen.add(run)
            column = EVERY_STEP
        metric = next(iter(next(c for c in spec.columns if c.id == cell.column).paper))
        split = cell.config.eval.select_split
        for cp in load_result(path).metrics.checkpoints:
            if cp.split == split and metric in cp.values:
                records.append({"row": cell.row, "column": column, "seed": cell.seed,
                                "step": cp.step, "split": split, "metric": metric,
                                "value": cp.values[metric]})
    return pd.DataFrame(records,
                        columns=["row", "column", "seed", "step", "split", "metric", "value"])


def paper_curve(spec, metric: str, paper) -> pd.DataFrame:
    """The paper's values of step columns at the paper scale's steps: (row, step, value)."""
    records = []
    if "paper" not in spec.scales:
        return pd.DataFrame(records, columns=["row", "step", "value"])
    for cell in expand(spec, "paper"):
        col = next(c for c in spec.columns if c.id == cell.column)
        row = next(r for r in spec.rows if r.id == cell.row)
        if cell.config is None or cell.config.eval.selection != "at_step" or metric not in col.paper:
            continue
        try:
            value = paper.value(row.paper_row_at(col.id), col.paper[metric])
        except KeyError:
            continue
        if value is not None:
            records.append({"row": row.id, "step": cell.config.eval.report_step, "value": value})
    return pd.DataFrame(records, columns=["row", "step", "value"]).drop_duplicates()


def curves_markdown(frame: pd.DataFrame) -> str:
    """Per column: steps down, rows across, 'mean [min, max]' over seeds (n seeds at that step)."""
    out = []
    for column, part in frame.groupby("column", sort=False):
        stats = part.groupby(["step", "row"], sort=False)["value"].agg(
            ["mean", "min", "max", "count"])
        cells = stats.apply(lambda r: f"{r['mean']:.1f} [{r['min']:.1f}, {r['max']:.1f}]"
                            f" (n={int(r['count'])})", axis=1).unstack("row")
        cells = cells[list(dict.fromkeys(part["row"]))].sort_index()
        metric, split = part["metric"].iloc[0], part["split"].iloc[0]
        out.append(f"### {column}: {metric} on {split}, mean [min, max] over seeds\n\n"
                   + cells.reset_index().to_markdown(index=False, disable_numparse=True) + "\n")
    return "\n".join(out)


def plot_curves(frame: pd.DataFrame, spec, scale: str, path: Path,
                paper_points: pd.DataFrame | None = None) -> None:
    """One panel per column: a line per row (mean over seeds), its seed range shaded, chance;
    then, where given, the paper's values at its steps in a panel of their own (another dataset
    and model: never on our axes)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = list(dict.fromkeys(frame["column"]))
    rows = [r.id for r in spec.rows]
    extra = paper_points is not None and not paper_points.empty
    fig, axes = plt.subplots(1, len(columns) + extra, figsize=(5 * (len(columns) + extra), 3.6),
                             squeeze=False)
    for ax, column in zip(axes[0], columns):
        part = frame[frame["column"] == column]
        for k, row in enumerate(rows):
            sel = part[part["row"] == row].groupby("step")["value"]
            if sel.ngroups == 0:
                continue
            steps = np.array(sorted(sel.groups))
            ax.plot(steps, sel.mean().loc[steps], color=f"C{k}", label=row)
            ax.fill_between(steps, sel.min().loc[steps], sel.max().loc[steps], color=f"C{k}",
                            alpha=0.15)
        col = next((c for c in spec.columns if c.id == column), None)
        metric = part["metric"].iloc[0]
        if col is not None and metric in col.chance:
            ax.axhline(col.chance[metric], color="grey", linestyle="dashed", label="chance")
        ax.set_title(column)
        ax.set_xlabel("step")
        set_metric_axis(ax, metric)
    if extra:
        ax = axes[0][-1]
        for k, row in enumerate(rows):
            sel = paper_points[paper_points["row"] == row].sort_values("step")
            if not sel.empty:
                ax.plot(sel["step"], sel["value"], color=f"C{k}", marker="o", label=row)
        ax.set_title("paper (its data and model)")
        ax.set_xlabel("step")
        set_metric_axis(ax, frame["metric"].iloc[0])
        ax.legend(fontsize=8)
    axes[0][0].legend(fontsize=8)
    fig.suptitle(f"{spec.table}: ours ({scale}); lines: mean over seeds, shade: seed range")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
