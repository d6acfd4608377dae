"""`mutor-bench check`: compare selected metrics of results with blessed golden values.

Golden files (`baselines/golden/*.yaml`) hold, per cell and seed, the selected metric values and a
per-metric tolerance (absolute, in the metric's unit). Drift beyond tolerance, a golden cell with no
result, or a result with no golden cell is reported by name; the exit code is 1 on drift.
"""

from __future__ import annotations

import math
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from mutorbench.errors import first_error
from mutorbench.fsio import atomic_write_text
from mutorbench.metrics import METRICS
from mutorbench.results import load_result
from mutorbench.yamlio import load_yaml_file

DEFAULT_TOLERANCE = 1.0  # points; tiny runs on this machine are deterministic for a thread count
# and for these packages' versions (a new transformers moved every tiny Table 1 value: the base's
# pretraining differed), so a golden file records them and check names any difference
# what golden values depend on; the image metrics' packages are recorded where installed
ENVIRONMENT_PACKAGES = ("torch", "transformers", "tokenizers", "peft", "numpy", "scikit-learn",
                        "scipy", "torch-fidelity")

class GoldenCell(BaseModel):
    """One blessed cell: at least one finite value, and finite non-negative tolerances for (some
    of) those values. Anything else is an error: a gate must not pass what it cannot compare."""
    model_config = ConfigDict(extra="forbid", strict=True)
    values: dict[str, float] = Field(min_length=1)
    tolerance: dict[str, float] = {}

    @model_validator(mode="after")
    def _finite(self):
        for kind, mapping in (("value", self.values), ("tolerance", self.tolerance)):
            for metric, x in mapping.items():
                if not math.isfinite(x) or (kind == "tolerance" and x < 0):
                    raise ValueError(f"{kind} of {metric} must be a finite number"
                                     + (" >= 0" if kind == "tolerance" else "") + f", got {x}")
        unknown = sorted(set(self.tolerance) - set(self.values))
        if unknown:
            raise ValueError(f"tolerance names metrics without a value: {unknown}")
        return self


class GoldenFile(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    cells: dict[str, GoldenCell] = Field(min_length=1)
    environment: dict[str, str] = {}  # the versions the values were blessed with


def environment_of(r) -> dict[str, str]:
    packages = r.provenance.packages
    return {k: packages[k] for k in ENVIRONMENT_PACKAGES if k in packages} | {
        "python": r.provenance.python}


def _key(r) -> str:
    cell = r.cell or {}
    where = f"{cell.get('row', r.method.id)}/{cell.get('column', r.data.task)}"
    return f"{r.table or '-'}|{r.scale}|{where}|seed{r.seed}"


def _table_scale(key: str) -> str:
    return key.rsplit("|", 2)[0]


def collect_results(results_dir: str | Path, *, environments: dict | None = None
                    ) -> dict[str, dict[str, float]]:
    """Selected values per cell key; ``environments`` (if given) is filled with each cell's
    package versions."""
    root = Path(results_dir)
    if not root.is_dir():
        raise ValueError(f"results folder not found: {root}")
    found, where = {}, {}
    for path in sorted(root.rglob("result.json")):
        if any(part.startswith(".") for part in path.relative_to(root).parts):
            continue  # hidden folders (runs moved aside by --retrain) hold no current result
        r = load_result(path)  # a malformed file is a clear error naming it
        key = _key(r)
        if key in found:
            raise ValueError(f"two results for {key}: {where[key]} and {path}")
        found[key], where[key] = dict(r.metrics.selected.values), path
        if environments is not None:
            environments[key] = environment_of(r)
    if not found:
        raise ValueError(f"no result.json under {root}")
    return found


def load_golden(golden_dir: str | Path, *, environments: dict | None = None) -> dict[str, dict]:
    """Golden cells by key; ``environments`` (if given) maps each key to its file's versions."""
    root = Path(golden_dir)
    files = sorted(root.glob("*.yaml")) if root.is_dir() else []
    if not files:
        raise ValueError(f"no golden files (*.yaml) in {root}")
    golden, origin = {}, {}
    for f in files:
        data = load_yaml_file(f, "golden file")
        if not isinstance(data, dict) or not isinstance(data.get("cells"), dict):
            raise ValueError(f"{f}: golden file needs a 'cells' mapping")
        try:
            parsed = GoldenFile.model_validate(data)
        except ValidationError as err:
            where, msg = first_error(err)
            raise ValueError(f"{f}: malformed golden file at {where}: {msg}") from None
        for key, entry in parsed.cells.items():
            if key in golden:
                raise ValueError(f"golden cell {key} is in both {origin[key]} and {f}")
            golden[key], origin[key] = entry.model_dump(), f
            if environments is not None:
                environments[key] = parsed.environment
    return golden


def check(results_dir, golden_dir, *, subset: bool = False) -> tuple[bool, list[dict]]:
    """``subset``: a partial rerun (e.g. CI's reduced table): golden cells without a result are
    skipped instead of counted as drift; every result present must still match. A value that is
    not finite (NaN, inf) is drift; a check that compares no value at all is an error."""
    ours, golden = collect_results(results_dir), load_golden(golden_dir)
    # golden files of other tables/scales (e.g. table1 when only table2 was rerun) are not compared
    present = {_table_scale(k) for k in ours}
    golden = {k: v for k, v in golden.items() if _table_scale(k) in present}
    if subset:
        golden = {k: v for k, v in golden.items() if k in ours}
    if not golden:
        raise ValueError(f"nothing to compare: no golden cell in {golden_dir} is for the tables "
                         f"and scales of {results_dir} ({', '.join(sorted(present))})")
    rows, ok = [], True
    for key in sorted(set(ours) | set(golden)):
        if key not in golden:
            rows.append({"cell": key, "metric": "-", "status": "no golden value"})
            ok = False
            continue
        if key not in ours:
            rows.append({"cell": key, "metric": "-", "status": "missing result"})
            ok = False
            continue
        tol = golden[key].get("tolerance", {})
        for metric, expected in golden[key]["values"].items():
            got = ours[key].get(metric)
            limit = float(tol.get(metric, DEFAULT_TOLERANCE))
            finite = got is not None and math.isfinite(got)
            drift = got - expected if finite else None
            bad = drift is None or abs(drift) > limit
            ok &= not bad
            status = ("ok" if not bad else "DRIFT" if finite else
                      "missing value" if got is None else "DRIFT (not finite)")
            rows.append({"cell": key, "metric": metric, "golden": expected, "ours": got,
                         "drift": drift, "tolerance": limit, "status": status,
                         "compared": True})
    return ok, rows


def environment_notes(results_dir, golden_dir) -> list[str]:
    """One line per package whose version differs between the compared results and the golden
    values they are compared with (drift then may be the environment, not the code)."""
    ours_env, golden_env = {}, {}
    ours = collect_results(results_dir, environments=ours_env)
    golden = load_golden(golden_dir, environments=golden_env)
    diffs: dict[tuple[str, str, str], int] = {}
    for key in set(ours) & set(golden):
        blessed, now = golden_env[key], ours_env[key]
        for pkg in sorted(set(blessed) & set(now)):
            if blessed[pkg] != now[pkg]:
                change = (pkg, blessed[pkg], now[pkg])
                diffs[change] = diffs.get(change, 0) + 1
    return [f"note: {n} golden cells were blessed with {pkg} {old}; these results ran with "
            f"{pkg} {new}" for (pkg, old, new), n in sorted(diffs.items())]


def bless(results_dir, golden_dir, *, name: str, tolerance: float | None = None) -> Path:
    """``tolerance``: one limit for every metric; None: each metric's own (metrics.py: 1 point,
    1 FID, 0.1 IS, 0.01 precision / recall)."""
    envs: dict[str, dict] = {}
    ours = collect_results(results_dir, environments=envs)
    distinct = {tuple(sorted(e.items())) for e in envs.values()}
    if len(distinct) > 1:
        shown = "; ".join(sorted(", ".join(f"{k} {v}" for k, v in d) for d in distinct))
        raise ValueError(f"cannot bless results of {len(distinct)} different environments "
                         f"({shown}): bless values from one environment")
    if tolerance is not None and (not math.isfinite(tolerance) or tolerance < 0):
        raise ValueError(f"--tolerance must be a finite number >= 0, got {tolerance}")
    bad = sorted(f"{k} {m}" for k, v in ours.items() for m, x in v.items() if not math.isfinite(x))
    if bad:
        raise ValueError(f"cannot bless values that are not finite: {', '.join(bad[:5])}")
    empty = sorted(k for k, v in ours.items() if not v)
    if empty:
        raise ValueError(f"cannot bless results without selected values: {', '.join(empty[:5])}")
    out = Path(golden_dir) / f"{name}.yaml"
    def limit(metric: str) -> float:
        if tolerance is not None:
            return tolerance
        return METRICS[metric].tolerance if metric in METRICS else DEFAULT_TOLERANCE

    cells = {k: {"values": v, "tolerance": {m: limit(m) for m in v}} for k, v in ours.items()}
    environment = dict(next(iter(distinct))) if distinct else {}
    return atomic_write_text(out, yaml.safe_dump({"cells": cells, "environment": environment},
                                                 sort_keys=True))


def format_rows(rows: list[dict]) -> str:
    lines = [f"{'cell':<50} {'metric':<10} {'golden':>8} {'ours':>8} {'drift':>8} {'tol':>5}  status"]
    for r in rows:
        def num(x):
            return f"{x:8.2f}" if isinstance(x, (int, float)) else f"{'-':>8}"
        lines.append(f"{r['cell']:<50} {r['metric']:<10} {num(r.get('golden'))} "
                     f"{num(r.get('ours'))} {num(r.get('drift'))} "
                     f"{r.get('tolerance', 0):5.2f}  {r['status']}")
    return "\n".join(lines)
