"""Forest plots: per comparison, the paper's delta (a marker) and ours with its 95% CI, zero line.

The reports' main figure. A reproduction is judged by whether each of the paper's differences has
the same sign and a compatible size, not by absolute values (a tiny model's ROUGE next to Gemma's
says nothing). Comparisons in different units (percentage points, FID) get their own panels.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

UNIT_LABELS = {"percent": "Δ (percentage points)", "raw": "Δ"}


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and np.isnan(v)) or pd.isna(v)


def forest_plot(items: list[dict], path: Path, *, title: str, ours_label: str) -> Path:
    """``items``: dicts with label, paper (delta or None), ours, lo, hi (None when not run) and
    unit ("percent" or "raw"). Rows top to bottom in the given order."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    units = list(dict.fromkeys(i.get("unit", "percent") for i in items)) or ["percent"]
    heights = [max(1, sum(i.get("unit", "percent") == u for i in items)) for u in units]
    fig, axes = plt.subplots(len(units), 1, squeeze=False,
                             figsize=(9, 1.2 + 0.32 * sum(heights) + 0.6 * len(units)),
                             gridspec_kw={"height_ratios": heights})
    for ax, unit in zip(axes[:, 0], units):
        rows = [i for i in items if i.get("unit", "percent") == unit]
        y = np.arange(len(rows))[::-1]
        ax.axvline(0.0, color="grey", linewidth=1, zorder=1)
        ours = [(yy, r) for yy, r in zip(y, rows) if not _missing(r.get("ours"))]
        if ours:
            ax.errorbar([r["ours"] for _, r in ours], [yy for yy, _ in ours],
                        xerr=[[r["ours"] - (r["lo"] if not _missing(r.get("lo")) else r["ours"])
                               for _, r in ours],
                              [(r["hi"] if not _missing(r.get("hi")) else r["ours"]) - r["ours"]
                               for _, r in ours]],
                        fmt="o", color="C0", capsize=3, label=ours_label, zorder=3)
        paper = [(yy, r["paper"]) for yy, r in zip(y, rows) if not _missing(r.get("paper"))]
        if paper:
            ax.scatter([p for _, p in paper], [yy for yy, _ in paper], marker="D", color="C3",
                       s=30, label="paper", zorder=4)
        ax.set_yticks(y, [r["label"] for r in rows], fontsize=7)
        ax.set_ylim(-0.7, len(rows) - 0.3)
        ax.set_xlabel(UNIT_LABELS.get(unit, "Δ"))
        ax.grid(axis="x", linestyle=":", alpha=0.5)
        if ours or paper:
            ax.legend(fontsize=7, loc="best")
        else:
            ax.text(0.5, 0.5, "nothing to compare yet", transform=ax.transAxes, ha="center",
                    va="center", fontsize=9, color="grey")
    axes[0, 0].set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
