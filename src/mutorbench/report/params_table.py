"""The parameter columns of Tables 4, 5, 16 ("#Add. Param."), computed, never typed.

Each row's count comes from `mutorbench.params` (the code behind `mutor-bench params`) applied to the
row's cell configs: at the reported scale's model, and at the paper scale's model (the paper's
architecture, counted on the meta device) when the spec has a paper scale. The paper's own figure
sits in its own column.
"""

from __future__ import annotations

import json

import pandas as pd

from mutorbench.params import run_params
from mutorbench.spec import TableSpec, expand

KINDS = {"added": "added_params", "trainable": "trainable_params"}


def _row_counts(spec: TableSpec, scale: str, kind: str, results_root: str) -> dict[str, str]:
    """row id -> count per distinct cell config of the row (joined with ' / ' if they differ)."""
    out: dict[str, list[str]] = {}
    counted: dict[str, str] = {}  # one count per distinct (model, method, LoRA): seeds repeat them
    for cell in expand(spec, scale, output_root=results_root):
        if cell.config is None:
            out.setdefault(cell.row, [])
            continue
        c = cell.config
        key = json.dumps(c.model_dump(mode="json", include={"model", "tokenizer", "method", "lora"},
                                      serialize_as_any=True))
        if key not in counted:
            try:
                counted[key] = f"{run_params(c)[KINDS[kind]]:,}"
            except ValueError as err:  # e.g. a custom hub model with no local config.json
                counted[key] = f"unavailable ({str(err).split(':')[0]})"
        value = counted[key]
        if value not in out.setdefault(cell.row, []):
            out[cell.row].append(value)
    return {row: " / ".join(values) or "not run" for row, values in out.items()}


def params_frame(spec: TableSpec, scale: str, paper, results_root: str = "results") -> pd.DataFrame:
    """One line per row: the paper's figure, then ours at this scale (and at paper scale)."""
    scales = [scale] + (["paper"] if scale != "paper" and "paper" in spec.scales else [])
    records = {row.id: {"Row": row.id} for row in spec.rows}
    for kind in spec.params:
        for row in spec.rows:
            figure = None
            if row.paper_row is not None:
                figure = next((getattr(r, KINDS[kind], None) for r in paper.rows
                               if r.id == row.paper_row), None)
            records[row.id][f"Paper: {kind}"] = "–" if figure is None else str(figure)
        for sc in scales:
            counts = _row_counts(spec, sc, kind, results_root)
            for row in spec.rows:
                records[row.id][f"Ours: {kind} ({sc}-scale model)"] = counts.get(row.id, "–")
    return pd.DataFrame(list(records.values()))
