"""`mutor-bench check`: compare selected metrics of results with blessed golden values.

Golden files (`baselines/golden/*.yaml`) hold, per cell and seed, the selected metric values and a
per-metric tolerance (absolute, in the metric's unit). Drift beyond tolerance, a golden cell with no
result, or a result with no golden cell is reported by name; the exit code is 1 on drift.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from mutorbench.results import load_result
from mutorbench.yamlio import load_yaml_file

DEFAULT_TOLERANCE = 1.0  # points; tiny runs on this machine are deterministic for a thread count


def _key(r) -> str:
    cell = r.cell or {}
    where = f"{cell.get('row', r.method.id)}/{cell.get('column', r.data.task)}"
    return f"{r.table or '-'}|{r.scale}|{where}|seed{r.seed}"


def _table_scale(key: str) -> str:
    return key.rsplit("|", 2)[0]


def collect_results(results_dir: str | Path) -> dict[str, dict[str, float]]:
    root = Path(results_dir)
    if not root.is_dir():
        raise ValueError(f"results folder not found: {root}")
    found = {}
    for path in sorted(root.rglob("result.json")):
        r = load_result(path)  # a malformed file is a clear error naming it
        found[_key(r)] = dict(r.metrics.selected.values)
    if not found:
        raise ValueError(f"no result.json under {root}")
    return found


def load_golden(golden_dir: str | Path) -> dict[str, dict]:
    root = Path(golden_dir)
    files = sorted(root.glob("*.yaml")) if root.is_dir() else []
    if not files:
        raise ValueError(f"no golden files (*.yaml) in {root}")
    golden = {}
    for f in files:
        data = load_yaml_file(f)
        if not isinstance(data, dict) or not isinstance(data.get("cells"), dict):
            raise ValueError(f"{f}: golden file needs a 'cells' mapping")
        for key, entry in data["cells"].items():
            if not isinstance(entry, dict) or "values" not in entry:
                raise ValueError(f"{f}: cell {key} needs 'values'")
            golden[key] = entry
    return golden


def check(results_dir, golden_dir, *, subset: bool = False) -> tuple[bool, list[dict]]:
    """``subset``: a partial rerun (e.g. CI's reduced table): golden cells without a result are
    skipped instead of counted as drift; every result present must still match."""
    ours, golden = collect_results(results_dir), load_golden(golden_dir)
    # golden files of other tables/scales (e.g. table1 when only table2 was rerun) are not compared
    present = {_table_scale(k) for k in ours}
    golden = {k: v for k, v in golden.items() if _table_scale(k) in present}
    if subset:
        golden = {k: v for k, v in golden.items() if k in ours}
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
            drift = None if got is None else got - expected
            bad = drift is None or abs(drift) > limit
            ok &= not bad
            rows.append({"cell": key, "metric": metric, "golden": expected, "ours": got,
                         "drift": drift, "tolerance": limit,
                         "status": "DRIFT" if bad else "ok"})
    return ok, rows


def bless(results_dir, golden_dir, *, name: str, tolerance: float = DEFAULT_TOLERANCE) -> Path:
    ours = collect_results(results_dir)
    out = Path(golden_dir) / f"{name}.yaml"
    out.parent.mkdir(parents=True, exist_ok=True)
    cells = {k: {"values": v, "tolerance": dict.fromkeys(v, tolerance)} for k, v in ours.items()}
    out.write_text(yaml.safe_dump({"cells": cells}, sort_keys=True))
    return out


def format_rows(rows: list[dict]) -> str:
    lines = [f"{'cell':<50} {'metric':<10} {'golden':>8} {'ours':>8} {'drift':>8} {'tol':>5}  status"]
    for r in rows:
        def num(x):
            return f"{x:8.2f}" if isinstance(x, (int, float)) else f"{'-':>8}"
        lines.append(f"{r['cell']:<50} {r['metric']:<10} {num(r.get('golden'))} "
                     f"{num(r.get('ours'))} {num(r.get('drift'))} "
                     f"{r.get('tolerance', 0):5.2f}  {r['status']}")
    return "\n".join(lines)
