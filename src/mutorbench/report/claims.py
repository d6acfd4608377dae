"""`mutor-bench claims --scale S`: each of the paper's claims checked on our results.

A claim (baselines/paper/claims.yaml) says that one cell of a table spec beats another on one
metric. Ours: the paired delta over the same test examples and seeds, with its 95% bootstrap CI
(report/stats.py), oriented by the metric's direction:

- holds: the CI lies above 0 (below for lower-is-better metrics such as FID);
- contradicted: the CI lies on the other side of 0;
- inconclusive: the CI covers 0 (or the metric has no per-example scores to pair);
- not run: a cell has no finished result at this scale (or is not run there at all);
- pending: the claim's tables have no spec yet.

``relation: similar`` claims (80 registers ~ 256) hold when the CI lies within +-margin and are
contradicted when it lies wholly outside. The paper's delta comes from the same cells' paper
values; a cell's result is found in its own table's folder or, trained once for another table
with the same config and data, wherever it was trained (bench/reuse.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mutorbench.errors import first_error
from mutorbench.metrics import get_metric
from mutorbench.paper import DEFAULT_DIR, load_paper_table
from mutorbench.report.stats import paired_bootstrap_delta
from mutorbench.yamlio import load_yaml_file

CLAIMS_FILE = DEFAULT_DIR / "claims.yaml"
VERDICTS = ("holds", "contradicted", "inconclusive", "not run", "pending")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Claim(_Strict):
    better: str  # row id
    than: str  # row id
    column: str
    than_column: str | None = None  # a comparison across columns (Table 3: the extra data)
    relation: Literal["better", "similar"] = "better"
    margin: float | None = Field(default=None, gt=0)  # similar: |delta| within this is a tie


class ClaimGroup(_Strict):
    group: str
    table: str
    metric: str
    status: Literal["check", "pending"] = "check"
    reason: str | None = None
    claims: list[Claim] = Field(min_length=1)


class ClaimsFile(_Strict):
    groups: list[ClaimGroup]


def load_claims(path: str | Path = CLAIMS_FILE) -> ClaimsFile:
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"no claims file at {path}")
    try:
        claims = ClaimsFile.model_validate(load_yaml_file(path))
    except ValidationError as err:
        where, msg = first_error(err)
        raise ValueError(f"{path}: invalid at {where}: {msg}") from None
    for g in claims.groups:
        get_metric(g.metric)  # an unknown metric is one clear error
        for c in g.claims:
            if (c.relation == "similar") != (c.margin is not None):
                raise ValueError(f"{path}: {g.table} {c.better} vs {c.than}: a margin goes with "
                                 "relation: similar, and only with it")
    return claims


def claim_id(group: ClaimGroup, claim: Claim) -> str:
    sign = "~" if claim.relation == "similar" else ">"
    if claim.than_column:
        return (f"{group.table}: {claim.better} @ {claim.column} {sign} {claim.than} @ "
                f"{claim.than_column}")
    return f"{group.table} {claim.column}: {claim.better} {sign} {claim.than}"


class _Tables:
    """Specs, expanded cells, paper tables and the finished-result index, each loaded once."""

    def __init__(self, scale: str, spec_root, results_root, paper_root):
        self.scale, self.spec_root = scale, spec_root
        self.results_root, self.paper_root = Path(results_root), paper_root
        self._specs: dict[str, object] = {}
        self._cells: dict[str, dict] = {}
        self._index = None

    def spec(self, table: str):
        if table not in self._specs:
            from mutorbench.spec import load_spec

            self._specs[table] = load_spec(table, self.spec_root)
        return self._specs[table]

    def cells(self, table: str) -> dict[tuple[str, str], list]:
        if table not in self._cells:
            from mutorbench.spec import expand

            spec = self.spec(table)
            by_cell: dict[tuple[str, str], list] = {}
            if self.scale in spec.scales:
                for c in expand(spec, self.scale, output_root=str(self.results_root),
                                paper_root=self.paper_root):
                    by_cell.setdefault((c.row, c.column), []).append(c)
            self._cells[table] = by_cell
        return self._cells[table]

    def index(self) -> dict[str, Path]:
        """training hash -> result.json of every finished original (not reused) train result."""
        if self._index is None:
            from mutorbench.identity import training_hash
            from mutorbench.results import load_result

            self._index = {}
            for path in sorted(self.results_root.glob("*/*/*/result.json")):
                try:
                    r = load_result(path)
                except ValueError:
                    continue  # unreadable or of another schema: not a cell to pair
                if r.kind == "train" and not r.reused_from:
                    self._index.setdefault(training_hash(r.config), path)
        return self._index

    def paper_value(self, table: str, row: str, column: str, metric: str, pending: bool):
        """The paper's number for a cell (None where the paper gives none)."""
        if pending:  # no spec yet: the paper table's own ids
            try:
                return load_paper_table(table, self.paper_root).value(row, column)
            except (KeyError, ValueError):
                return None
        spec = self.spec(table)
        srow = next((r for r in spec.rows if r.id == row), None)
        scol = next((c for c in spec.columns if c.id == column), None)
        if srow is None or scol is None:
            raise ValueError(f"claims: {table} has no cell {row} @ {column}")
        if srow.paper_row is None or metric not in scol.paper:
            return None
        try:
            return load_paper_table(spec.paper, self.paper_root).value(
                srow.paper_row_at(column), scol.paper[metric])
        except KeyError:
            return None

    def runs(self, table: str, row: str, column: str) -> tuple[dict[int, tuple], str | None]:
        """{seed: (result path, result)} of a cell, or why there are none."""
        from mutorbench.identity import training_hash
        from mutorbench.results import load_result, result_path_of

        cells = self.cells(table).get((row, column))
        if not cells:
            return {}, f"{table} has no cell {row} @ {column} at scale {self.scale!r}"
        if all(c.config is None for c in cells):
            return {}, f"{table} {row} @ {column} is not run at scale {self.scale!r}"
        found = {}
        for c in cells:
            if c.config is None:
                continue
            path = result_path_of(c.config)
            if not path.exists():
                path = self.index().get(training_hash(c.tree))
            if path is not None and path.exists():
                found[c.seed] = (path, load_result(path))
        if not found:
            return {}, f"{table} {row} @ {column} has no result at scale {self.scale!r}"
        return found, None


def _paired(group: ClaimGroup, claim: Claim, mine: dict, theirs: dict):
    """Per-example scores of both cells on their common seeds, checked to be the same examples."""
    from mutorbench.report.tables import per_example_scores

    seeds = sorted(set(mine) & set(theirs))
    if not seeds:
        return None, "no seed finished in both cells"
    a_rows, b_rows = [], []
    for s in seeds:
        (pa, ra), (pb, rb) = mine[s], theirs[s]
        split = ra.config["eval"]["report_split"]
        ha, hb = (ra.data.split_hashes or {}).get(split), (rb.data.split_hashes or {}).get(split)
        if ha is None or hb is None or ha != hb:
            raise ValueError(f"claim {claim_id(group, claim)}: seed {s}'s two cells were scored "
                             f"on different {split} examples ({pa.parent} vs {pb.parent}); a "
                             "paired delta needs the same examples")
        a = per_example_scores((pa, ra), group.metric)
        b = per_example_scores((pb, rb), group.metric)
        if a is None or b is None:
            return None, f"no per-example {group.metric} scores to pair"
        if a.shape != b.shape:
            raise ValueError(f"claim {claim_id(group, claim)}: seed {s}'s cells logged "
                             f"{a.size} and {b.size} examples")
        a_rows.append(a)
        b_rows.append(b)
    return (np.stack(a_rows), np.stack(b_rows), seeds), None


def verdict(delta_lo: float, delta_hi: float, *, higher_is_better: bool, relation: str,
            margin: float | None) -> str:
    """The verdict of a CI [lo, hi] on (better - than)."""
    if relation == "similar":
        if -margin <= delta_lo and delta_hi <= margin:
            return "holds"
        if delta_lo > margin or delta_hi < -margin:
            return "contradicted"
        return "inconclusive"
    lo, hi = (delta_lo, delta_hi) if higher_is_better else (-delta_hi, -delta_lo)
    if lo > 0:
        return "holds"
    if hi < 0:
        return "contradicted"
    return "inconclusive"


def check_claims(scale: str, *, claims_path: str | Path = CLAIMS_FILE, spec_root="bench",
                 results_root="results", paper_root=DEFAULT_DIR,
                 tables: set[str] | None = None) -> pd.DataFrame:
    """One row per claim (of ``tables`` only, if given): the paper's delta, ours and the verdict."""
    claims = load_claims(claims_path)
    ctx = _Tables(scale, spec_root, results_root, paper_root)
    records = []
    for g in claims.groups:
        if tables is not None and g.table not in tables:
            continue
        metric = get_metric(g.metric)
        pending = g.status == "pending"
        for c in g.claims:
            than_col = c.than_column or c.column
            pb = ctx.paper_value(g.table, c.better, c.column, g.metric, pending)
            pt = ctx.paper_value(g.table, c.than, than_col, g.metric, pending)
            rec = {"group": g.group, "table": g.table, "claim": claim_id(g, c),
                   "better": c.better, "than": c.than, "column": c.column,
                   "than_column": than_col,
                   "metric": g.metric, "expects": _expects(c, metric.higher_is_better),
                   "paper_delta": None if pb is None or pt is None else pb - pt,
                   "delta": None, "ci_low": None, "ci_high": None, "seeds": None,
                   "verdict": "pending", "note": g.reason or ""}
            if not pending:
                rec.update(_ours(ctx, g, c, than_col, metric))
            records.append(rec)
    return pd.DataFrame(records)


def _expects(claim: Claim, higher_is_better: bool) -> str:
    if claim.relation == "similar":
        return f"|Δ| <= {claim.margin:g}"
    return "Δ > 0" if higher_is_better else "Δ < 0"


def _ours(ctx: _Tables, g: ClaimGroup, c: Claim, than_col: str, metric) -> dict:
    mine, why = ctx.runs(g.table, c.better, c.column)
    theirs, why_b = ctx.runs(g.table, c.than, than_col)
    if why or why_b:
        return {"verdict": "not run", "note": why or why_b}
    paired, why = _paired(g, c, mine, theirs)
    if paired is None:
        return {"verdict": "not run" if why.startswith("no seed") else "inconclusive",
                "note": why}
    a, b, seeds = paired
    delta, lo, hi = paired_bootstrap_delta(a, b)
    return {"delta": delta, "ci_low": lo, "ci_high": hi, "seeds": len(seeds), "note": "",
            "verdict": verdict(lo, hi, higher_is_better=metric.higher_is_better,
                               relation=c.relation, margin=c.margin)}


def summary_line(frame: pd.DataFrame, scale: str) -> str:
    counts = {v: int((frame["verdict"] == v).sum()) for v in VERDICTS}
    checked = counts["holds"] + counts["contradicted"] + counts["inconclusive"]
    return (f"{checked} of {len(frame)} claims checked at {scale} scale: {counts['holds']} hold, "
            f"{counts['contradicted']} contradicted, {counts['inconclusive']} inconclusive "
            f"({counts['not run']} not run, {counts['pending']} pending)")


def claims_markdown(frame: pd.DataFrame, scale: str) -> str:
    def fmt(v, signed=True):
        return "–" if v is None or pd.isna(v) else (f"{v:+.2f}" if signed else f"{v:.2f}")

    shown = pd.DataFrame({
        "Claim": frame["claim"], "Metric": frame["metric"], "Expects": frame["expects"],
        "Paper Δ": frame["paper_delta"].map(fmt),
        f"Ours Δ ({scale}) [95% CI]": [
            "–" if pd.isna(r["delta"]) else
            f"{r['delta']:+.2f} [{r['ci_low']:+.2f}, {r['ci_high']:+.2f}] (seeds={int(r['seeds'])})"
            for _, r in frame.iterrows()],
        "Verdict": frame["verdict"], "Note": frame["note"]})
    return shown.to_markdown(index=False, disable_numparse=True) + "\n"


def write_claims_report(scale: str, *, reports_root="reports", **kw) -> tuple[pd.DataFrame, dict]:
    from mutorbench.report.forest import forest_plot

    frame = check_claims(scale, **kw)
    out = Path(reports_root)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"md": out / f"claims-{scale}.md", "csv": out / f"claims-{scale}.csv",
             "png": out / f"claims-{scale}.png"}
    md = (f"# The paper's claims at {scale} scale\n\n{summary_line(frame, scale)}.\n\n"
          "Δ = better − than in the claim's metric (percentage points for accuracy and ROUGE). "
          "Paper Δ: from the paper's numbers for the same cells; ours: paired bootstrap over the "
          "same test examples and the seeds both cells finished (95% CI). holds / contradicted: "
          "the CI lies on the claimed / the other side of 0; inconclusive: it covers 0.\n\n")
    paths["md"].write_text(md + claims_markdown(frame, scale))
    frame.to_csv(paths["csv"], index=False)
    shown = frame[frame["delta"].notna()]
    forest_plot([{"label": r["claim"], "paper": r["paper_delta"], "ours": r["delta"],
                  "lo": r["ci_low"], "hi": r["ci_high"], "unit": get_metric(r["metric"]).unit}
                 for _, r in shown.iterrows()], paths["png"],
                title=f"The paper's claims: Δ = better − than ({scale}; checked claims only)",
                ours_label=f"ours ({scale}), 95% CI")
    return frame, paths
