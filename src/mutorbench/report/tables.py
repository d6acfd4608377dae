"""`mutor-bench report TABLE`: the paper's numbers and ours, side by side, never mixed.

For every row and column of a table spec: the paper's value, ours as mean ± std over the seeds
that finished (n shown), and the delta to the row's baseline: the paper's (from its numbers) and
ours with a paired bootstrap 95% CI over test examples (from the logged per-example generations).
Writes reports/TABLE.{md,csv,tex,png}: the figure is a forest plot of the deltas, the paper's
beside ours (absolute values stay in the table); the paper's claims on the table's cells follow
the table. Also the learning curves (TABLE-curves.*) and one dot per seed (TABLE-seeds.png)
where the spec asks for them.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from mutorbench.identity import describe, diff_keys, training_tree
from mutorbench.metrics import get_metric, set_metric_axis
from mutorbench.paper import DEFAULT_DIR, load_paper_table
from mutorbench.registry import METHODS
from mutorbench.report.params_table import params_frame
from mutorbench.report.stats import paired_bootstrap_delta
from mutorbench.results import (
    baseline_paths,
    generations_path,
    load_baseline,
    load_result,
    result_path_of,
)
from mutorbench.spec import expand, load_spec


def per_example_scores(run: tuple[Path, object], metric: str) -> np.ndarray | None:
    """Per-example scores (percent) of the selected checkpoint on the reported split."""
    result_path, r = run
    cp = r.metrics.selected.checkpoint
    if cp is None:
        return None
    log = generations_path(result_path.parent, cp.step, cp.split)
    if not log.exists():
        return None
    record = get_metric(metric)
    if record.per_example is None:  # a whole-set metric (FID): no paired per-example delta
        return None
    rows = [json.loads(x) for x in log.read_text().splitlines()]
    if any(record.per_example not in x for x in rows):  # a metric this run does not produce
        return None  # (the register probe of a next-token baseline)
    if record.verdict:  # per-example verdicts, as percent
        return np.array([100.0 * float(x[record.per_example]) for x in rows])
    return np.array([float(x[record.per_example]) for x in rows])  # per-example scores (ROUGE)


def collect(table: str, scale: str, *, spec_root="bench", results_root="results",
            paper_root=DEFAULT_DIR) -> pd.DataFrame:
    spec = load_spec(table, spec_root)
    paper = load_paper_table(spec.paper, paper_root)
    cells = expand(spec, scale, output_root=results_root)
    # as `check`: never an all-"pending" report of nothing (a table not run at this scale at all,
    # Table 14 at tiny, has nothing to find and lists its cells as "not run")
    if not Path(results_root).is_dir() and any(c.status == "run" for c in cells):
        raise ValueError(f"results folder not found: {results_root}")
    # finished results, found and loaded once: (row, column) -> {seed: (path, result)}
    finished: dict[tuple[str, str], dict[int, tuple[Path, object]]] = {}
    for c in cells:
        path = result_path_of(c.config) if c.config is not None else None
        if path is not None and path.exists():
            finished.setdefault((c.row, c.column), {})[c.seed] = (path, load_result(path))
    for (row, column), seeds in finished.items():
        _refuse_mixed_configs(f"{row}/{column}", seeds)
    status = {(c.row, c.column): c.status for c in cells}  # per scale: a row may be run at one only
    records = []
    for row in spec.rows:
        for col in spec.columns:
            if (row.id, col.id) not in status:
                continue  # the row has no such cell (e.g. Llama on AQUA-RAT)
            runs = finished.get((row.id, col.id), {})
            for metric, paper_col in col.paper.items():
                paper_value = None
                if row.paper_row is not None:
                    try:
                        paper_value = paper.value(row.paper_row_at(col.id), paper_col)
                    except KeyError:
                        paper_value = None
                values = [r.metrics.selected.values.get(metric) for _, r in runs.values()]
                values = [v for v in values if v is not None]
                rec = {"row": row.id, "column": col.id, "metric": metric,
                       "paper": paper_value, "status": status[(row.id, col.id)],
                       "n": len(values), "mean": np.mean(values) if values else None,
                       "std": np.std(values, ddof=1) if len(values) > 1 else None,
                       "delta": None, "ci_low": None, "ci_high": None,
                       "seed_values": values, "chance": col.chance.get(metric),
                       "finished": len(runs)}
                records.append(rec)
    records += _trivial_records(spec, scale, results_root)
    frame = pd.DataFrame(records)
    _add_deltas(frame, spec, finished)
    return frame


TRIVIAL_ROW = "trivial baseline"


def _refuse_mixed_configs(cell: str, seeds: dict[int, tuple[Path, object]]) -> None:
    """Seeds are averaged only when they differ in the seed alone."""
    (first_seed, (first_path, first)), *rest = sorted(seeds.items())
    reference = training_tree(first.config, drop_seed=True)
    for seed, (path, r) in rest:
        other = training_tree(r.config, drop_seed=True)
        keys = diff_keys(reference, other)
        if keys:
            raise ValueError(f"cell {cell}: seeds {first_seed} and {seed} were trained with "
                             f"different configs ({describe(keys, reference, other)}); they "
                             f"cannot be averaged: rerun one ({path}) with `run --retrain`")
        if first.data.split_hashes != r.data.split_hashes:
            raise ValueError(f"cell {cell}: seeds {first_seed} and {seed} were trained on "
                             f"different data (split hashes differ); they cannot be averaged")


def _baselines_text(spec) -> str:
    pairs = [f"{r.id} vs {spec.baseline_of(r.id)}" for r in spec.rows if spec.baseline_of(r.id)]
    return "; ".join(pairs) or "none declared"


def _baseline_label(spec, cells) -> str:
    """The display names of the declared baseline rows' methods ('Next-Token')."""
    bases = {spec.baseline_of(r.id) for r in spec.rows} - {None}
    names = {METHODS.get(c.config.method.id).display_name for c in cells
             if c.row in bases and c.config is not None}
    return " / ".join(sorted(names)) or "baseline"


def _trivial_records(spec, scale: str, results_root) -> list[dict]:
    """The no-model baselines of each column, as the table's run filed them (bench/trivial.py)."""
    records = []
    for col in spec.columns:
        for path in baseline_paths(results_root, spec.table, scale, col.id):
            records += _trivial_rows(col, load_baseline(path))
    return records


def _trivial_rows(col, base) -> list[dict]:
    records = []
    for metric in col.paper:
        records.append({"row": TRIVIAL_ROW, "column": col.id, "metric": metric, "paper": None,
                        "status": "trivial", "rule": base.name, "rule_text": base.rule, "n": 0,
                        "chance": None, "mean": base.values.get(metric), "std": None,
                        "delta": None, "ci_low": None, "ci_high": None})
    return records


def _add_deltas(frame: pd.DataFrame, spec, finished: dict) -> None:
    """Paired delta to the row's declared baseline (its ``baseline``, else the table's
    ``baseline_row``), same column and seeds; rows without one get none."""
    row_ids = {r.id for r in spec.rows}  # not the trivial-baseline row
    frame["paper_delta"] = None
    frame["seeds_paired"] = None
    paper = {(r["row"], r["column"], r["metric"]): r["paper"] for _, r in frame.iterrows()}
    for i, rec in frame.iterrows():
        base = spec.baseline_of(rec["row"]) if rec["row"] in row_ids else None
        if base is None:
            continue
        theirs = paper.get((base, rec["column"], rec["metric"]))
        if not pd.isna(rec["paper"]) and theirs is not None and not pd.isna(theirs):
            frame.at[i, "paper_delta"] = rec["paper"] - theirs
        if rec["n"] == 0:
            continue
        mine = finished.get((rec["row"], rec["column"]), {})
        theirs = finished.get((base, rec["column"]), {})
        scores = [(per_example_scores(mine[s], rec["metric"]),
                   per_example_scores(theirs[s], rec["metric"]))
                  for s in sorted(set(mine) & set(theirs))]
        scores = [(m, b) for m, b in scores if m is not None and b is not None and m.shape == b.shape]
        if not scores:
            _add_seed_delta(frame, i, rec["metric"], mine, theirs)
            continue
        delta, lo, hi = paired_bootstrap_delta(np.stack([m for m, _ in scores]),
                                               np.stack([b for _, b in scores]))
        frame.loc[i, ["delta", "ci_low", "ci_high"]] = [delta, lo, hi]


def _decimals(metric: str) -> int:
    from mutorbench.metrics import METRICS

    return METRICS[metric].decimals if metric in METRICS else 2


def _add_seed_delta(frame: pd.DataFrame, i, metric: str, mine: dict, theirs: dict) -> None:
    """A whole-set metric (FID) has no per-example scores: its delta is the mean over the seeds
    both cells finished of (row - baseline), shown without a CI (``seeds_paired``)."""
    record = get_metric(metric)
    if record.per_example is not None:
        return  # a per-example metric without its logs: no delta rather than a weaker one
    pairs = [(mine[s][1].metrics.selected.values.get(metric),
              theirs[s][1].metrics.selected.values.get(metric))
             for s in sorted(set(mine) & set(theirs))]
    diffs = [a - b for a, b in pairs if a is not None and b is not None]
    if diffs:
        frame.at[i, "delta"] = float(np.mean(diffs))
        frame.at[i, "seeds_paired"] = len(diffs)


def _fmt(rec) -> tuple[str, str, str, str]:
    if pd.isna(rec["paper"]):
        paper = "–"
    else:  # percentages with 2 decimals as the paper prints them; fractions (precision) with 3
        paper = f"{rec['paper']:.2f}" if abs(rec["paper"]) >= 1 else f"{rec['paper']:.3f}"
    d = _decimals(rec["metric"])
    paper_delta = "" if pd.isna(rec.get("paper_delta")) else f"{rec['paper_delta']:+.{d}f}"
    if rec["status"] == "trivial":
        return paper, f"{rec['mean']:.{d}f} ({rec['rule']})", paper_delta, ""
    if rec["status"] != "run":
        return paper, "not run", paper_delta, ""
    if rec["n"] == 0:  # finished runs without the value: the arm does not produce it
        shown = "– (not produced)" if rec.get("finished", 0) > 0 else "pending"
        return paper, shown, paper_delta, ""
    ours = f"{rec['mean']:.{d}f}" + (f" ± {rec['std']:.{d}f}" if not pd.isna(rec["std"]) else "")
    ours += f" (n={rec['n']})"
    if pd.isna(rec["delta"]):
        delta = ""
    elif pd.isna(rec["ci_low"]):  # a whole-set metric: the mean of paired seed differences
        delta = f"{rec['delta']:+.{d}f} (mean of {int(rec['seeds_paired'])} seeds, no CI)"
    else:
        delta = f"{rec['delta']:+.{d}f} [{rec['ci_low']:+.{d}f}, {rec['ci_high']:+.{d}f}]"
    return paper, ours, paper_delta, delta


def write_report(table: str, scale: str, *, spec_root="bench", results_root="results",
                 reports_root="reports", paper_root=DEFAULT_DIR) -> dict[str, Path]:
    spec = load_spec(table, spec_root)
    paper = load_paper_table(spec.paper, paper_root)
    frame = collect(table, scale, spec_root=spec_root, results_root=results_root,
                    paper_root=paper_root)
    cells = expand(spec, scale, output_root=results_root)
    out = Path(reports_root)
    out.mkdir(parents=True, exist_ok=True)
    shown = pd.DataFrame([
        {"Row": r["row"], "Column": r["column"], "Metric": r["metric"],
         **dict(zip(("Paper", f"Ours ({scale})", "Paper Δ",
                     f"Ours Δ vs {_baseline_label(spec, cells)} [95% CI]"), _fmt(r))),
         **({"Chance": f"{r['chance']:.2f}" if not pd.isna(r["chance"]) else ""}
            if frame["chance"].notna().any() else {})}
        for _, r in frame.iterrows()])
    caption = (f"{spec.title}. Paper: the paper's reported values (baselines/paper/{spec.paper}). "
               f"Ours: mean ± std over n seeds at scale '{scale}', selected checkpoint as the "
               "spec's eval rule. Δ: against each row's declared baseline row "
               f"({_baselines_text(spec)}); the paper's from its numbers, ours a paired "
               "bootstrap over test examples (95% CI). "
               "Paper numbers and ours come from different runs and are never combined.")
    if frame["seeds_paired"].notna().any():
        caption += (" A whole-set metric (FID, IS, precision, recall) has no per-example scores: "
                    "its Δ is the mean over the seeds both cells finished, with no CI.")
    if any(frame["status"] == "trivial"):
        rules = dict.fromkeys(
            r["rule_text"] if r["rule_text"].startswith(r["rule"]) else
            f"{r['rule']}: {r['rule_text']}" for _, r in frame.iterrows()
            if r["status"] == "trivial")
        caption += (f" '{TRIVIAL_ROW}': the same metric with no model ({'; '.join(rules)}).")
    if paper.qualitative:
        caption += " The paper gives no numbers here; what it says: " + " ".join(paper.notes)
    if spec.scales[scale].note:
        caption += f" Scale '{scale}': {spec.scales[scale].note.strip()}"
    caption += _not_run_text(spec, scale)
    paths = {"md": out / f"{table}.md", "csv": out / f"{table}.csv", "tex": out / f"{table}.tex",
             "png": out / f"{table}.png"}
    md = f"# {table}\n\n{caption}\n\n" + shown.to_markdown(index=False, disable_numparse=True) + "\n"
    frame.to_csv(paths["csv"], index=False)
    if spec.params:
        counts = params_frame(spec, scale, paper, results_root=str(results_root))
        md += ("\n## Parameters\n\nWhat each row's method adds to the base model (and trains), "
               "counted by `mutor-bench params` on each model's architecture; the paper's figure "
               "as printed.\n\n" + counts.to_markdown(index=False, disable_numparse=True) + "\n")
        paths["params_csv"] = out / f"{table}-params.csv"
        counts.to_csv(paths["params_csv"], index=False)
    if spec.curves:
        from mutorbench.report.curves import curves_frame, curves_markdown, plot_curves

        curves = curves_frame(spec, scale, results_root=results_root)
        if not curves.empty:
            from mutorbench.report.curves import paper_curve

            points = paper_curve(spec, curves["metric"].iloc[0], paper)
            md += ("\n## Learning curves\n\nEvery evaluation of the selection split during "
                   "training "
                   f"(`eval.every_steps`, `eval.at_steps`), {table}-curves.png plots them"
                   + (" beside the paper's values at its steps (its own panel: another dataset "
                      "and model)" if not points.empty else "") + ".\n\n"
                   + curves_markdown(curves))
            paths["curves_csv"] = out / f"{table}-curves.csv"
            paths["curves_png"] = out / f"{table}-curves.png"
            curves.to_csv(paths["curves_csv"], index=False)
            plot_curves(curves, spec, scale, paths["curves_png"], points)
    if spec.sample_grids:
        from mutorbench.report.sample_grids import plot_sample_grids

        paths["samples_png"] = out / f"{table}-samples.png"
        grids = plot_sample_grids(spec, scale, results_root, paths["samples_png"])
        if grids:
            md += ("\n## Samples\n\n" + f"![samples]({table}-samples.png)\n\n"
                   "Images each row's run sampled for the report (one line per class), decoded "
                   "from the logged codes: " + "; ".join(
                       f"{g['row']} at step {g['step']}, seed {g['seed']}" for g in grids) + ".\n")
        else:
            del paths["samples_png"]
    claims = _table_claims(table, scale, spec_root, results_root, paper_root)
    if claims is not None:
        from mutorbench.report.claims import claims_markdown, summary_line

        md += (f"\n## The paper's claims on this table\n\n{summary_line(claims, scale)}; all "
               f"claims: `mutor-bench claims --scale {scale}`.\n\n"
               + claims_markdown(claims, scale))
    paths["md"].write_text(md)
    paths["tex"].write_text(shown.to_latex(index=False, caption=caption, label=f"tab:{table}"))
    _plot_deltas(frame, spec, scale, paths["png"], claims)
    if spec.plot == "seeds":
        paths["seeds_png"] = out / f"{table}-seeds.png"
        _plot_seeds(frame, spec, scale, paths["seeds_png"])
    return paths


def _not_run_text(spec, scale: str) -> str:
    """Why rows or columns are "not run" at this scale, as the spec says."""
    by_reason: dict[str, list[str]] = {}
    for row in spec.rows:
        at = row.scales.get(scale, {})
        if at.get("status", row.status) != "run":
            reason = at.get("reason") or row.reason or "no reason given"
            by_reason.setdefault(reason, []).append(row.id)
    parts = [f"{', '.join(rows)} ({reason})" for reason, rows in by_reason.items()]
    for col in spec.columns:
        if col.run_at is not None and scale not in col.run_at:
            parts.append(f"column {col.id} (run at {', '.join(col.run_at)} only)")
    return f" Not run at scale '{scale}': {'; '.join(parts)}." if parts else ""


def _table_claims(table, scale, spec_root, results_root, paper_root) -> pd.DataFrame | None:
    """The paper's claims on this table's cells (baselines/paper/claims.yaml), checked."""
    from mutorbench.report.claims import CLAIMS_FILE, check_claims

    claims_file = Path(paper_root) / CLAIMS_FILE.name
    if not claims_file.is_file():
        return None
    frame = check_claims(scale, claims_path=claims_file, spec_root=spec_root,
                         results_root=results_root, paper_root=paper_root, tables={table})
    return None if frame.empty else frame


def _plot_deltas(frame: pd.DataFrame, spec, scale: str, path: Path,
                 claims: pd.DataFrame | None) -> None:
    """The forest plot: every row with a baseline, per column and metric, paper Δ and ours;
    then the table's claims that are not such a pair (Table 3's comparison across columns)."""
    from mutorbench.metrics import METRICS
    from mutorbench.report.forest import forest_plot

    def unit(metric):
        return METRICS[metric].unit if metric in METRICS else "percent"

    items, pairs = [], set()
    for _, r in frame.iterrows():  # rows not run here keep the paper's marker
        if r["status"] == "trivial" or spec.baseline_of(r["row"]) is None:
            continue
        if pd.isna(r["delta"]) and pd.isna(r.get("paper_delta")):
            continue
        base = spec.baseline_of(r["row"])
        pairs.add((r["row"], base, r["column"], r["column"], r["metric"]))
        items.append({"label": f"{r['row']} vs {base} · {r['column']} {r['metric']}",
                      "paper": r.get("paper_delta"), "ours": r["delta"], "lo": r["ci_low"],
                      "hi": r["ci_high"], "unit": unit(r["metric"])})
    for _, c in (claims if claims is not None else pd.DataFrame()).iterrows():
        if (c["better"], c["than"], c["column"], c["than_column"], c["metric"]) in pairs:
            continue
        if pd.isna(c["delta"]) and pd.isna(c["paper_delta"]):
            continue  # nothing to draw (not run here, and no paper number)
        label = c["claim"][len(spec.table):].lstrip(": ")
        items.append({"label": f"claim: {label}", "unit": unit(c["metric"]),
                      "paper": c["paper_delta"], "ours": c["delta"], "lo": c["ci_low"],
                      "hi": c["ci_high"]})
    forest_plot(items, path, title=f"{spec.table}: Δ to each row's baseline and the table's "
                f"claims, paper vs ours ({scale})", ours_label=f"ours ({scale}), paired 95% CI")


def plotted_columns(frame: pd.DataFrame, spec) -> list:
    """The columns this scale runs (a bar group per column; none for the paper-only graphs)."""
    run = set(frame.loc[frame["status"] == "run", "column"])
    return [c for c in spec.columns if c.id in run]


def _plot_seeds(frame: pd.DataFrame, spec, scale: str, path: Path) -> None:
    """Grouped bars of our means (first metric of each column), one dot per seed, chance lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r.id for r in spec.rows]
    columns = plotted_columns(frame, spec)
    fig, ax = plt.subplots(figsize=(max(6, 1.6 * len(columns) * len(rows) / 2), 4))
    width = 0.8 / len(rows)
    for c, col in enumerate(columns):
        metric = next(iter(col.paper), None)
        for k, row in enumerate(rows):
            sel = frame[(frame["row"] == row) & (frame["column"] == col.id)
                        & (frame["metric"] == metric)]
            if sel.empty or sel.iloc[0]["n"] == 0:
                continue
            x = c - 0.4 + width * (k + 0.5)
            ax.bar(x, sel.iloc[0]["mean"], width, color=f"C{k}", label=row if c == 0 else None)
            seeds = sel.iloc[0]["seed_values"]
            ax.scatter([x] * len(seeds), seeds, color="black", s=12, zorder=3)
        if metric in col.chance:
            ax.hlines(col.chance[metric], c - 0.45, c + 0.45, colors="grey", linestyles="dashed",
                      label="chance" if c == 0 else None)
    ax.set_xticks(range(len(columns)), [c.id for c in columns])
    metric = next(iter(columns[0].paper), "") if columns else ""
    set_metric_axis(ax, metric)
    ax.set_title(f"{spec.table}: ours ({scale}); dots: seeds")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
