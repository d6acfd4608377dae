"""`mutor-bench report table10` (or table11): the paper's tuned hyper-parameters as data.

Tables 10-11 (baselines/paper/table10.yaml, table11.yaml) are the single source of every tuned
d_max / a the specs use (`tuned:` on a spec row). The report shows them per model and training
split, beside the released checkpoint of that cell (HF user nasos10), whose name carries its own
d_max and a; where they disagree the cell is marked (paper.md §8.3 lists three such conflicts).
It also says which spec cells read each value, so a reader sees what a change would move.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from mutorbench.paper import DEFAULT_DIR, load_paper_table
from mutorbench.spec import SPEC_DIR, load_spec, natural_key

TABLES = {"table10": "Gemma 2B", "table11": "Llama 3 8B"}
RELEASED = re.compile(r"dmax_(?P<d_max>\d+)_a_(?P<a>\d+)$")


def released_values(name: str) -> dict[str, float]:
    """d_max and a from a released checkpoint's name: ``...-dmax_4_a_03`` -> 4, 0.3."""
    match = RELEASED.search(name)
    if match is None:
        raise ValueError(f"released checkpoint {name!r} does not end in dmax_<N>_a_<NN>")
    digits = match["a"]
    return {"d_max": int(match["d_max"]), "a": int(digits) / 10 ** (len(digits) - 1)}


def readers(spec_root: str | Path = SPEC_DIR) -> dict[tuple[str, str], str]:
    """(tuned table, its row) -> the spec rows that read it, e.g. ``table1: gemma-2b/mutor;
    table4: mutor/2 (a)`` (a key list in brackets where a row reads only some keys)."""
    found: dict[tuple[str, str], dict[str, list[str]]] = {}
    for path in sorted(Path(spec_root).glob("*.yaml"), key=lambda p: natural_key(p.stem)):
        spec = load_spec(path.stem, spec_root)
        for row in spec.rows:
            if row.tuned is None:
                continue
            keys = "" if row.tuned.keys == ["d_max", "a"] else f" ({', '.join(row.tuned.keys)})"
            entries = {row.tuned.row} if row.tuned.row else {
                c.train for c in spec.columns if row.per_column.get(c.id, {}) is not None}
            for entry in entries - {None}:
                by_spec = found.setdefault((row.tuned.table, entry), {})
                by_spec.setdefault(spec.table, []).append(row.id + keys)
    return {key: "; ".join(f"{t}: {', '.join(rows)}" for t, rows in by_spec.items())
            for key, by_spec in found.items()}


def hparams_frame(paper_root: str | Path = DEFAULT_DIR,
                  spec_root: str | Path = SPEC_DIR) -> pd.DataFrame:
    used = readers(spec_root)
    records = []
    for table, model in TABLES.items():
        paper = load_paper_table(table, paper_root)
        for row in paper.rows:
            extra = row.model_extra or {}
            released = extra.get("released")
            rec = {"model": model, "table": table, "row": row.id, "method": extra.get("method"),
                   "train": extra.get("train"), "d_max": row.values["d_max"],
                   "a": row.values["a"], "released": released or "", "conflict": ""}
            if released:
                theirs = released_values(released)
                differ = [k for k in ("d_max", "a") if theirs[k] != row.values[k]]
                if differ:
                    rec["conflict"] = "released name: " + ", ".join(
                        f"{k} {theirs[k]:g}" for k in differ)
            rec["used_by"] = used.get((table, row.id), "no spec")
            records.append(rec)
    return pd.DataFrame(records)


def write_hparams_report(reports_root: str | Path = "reports", *,
                         paper_root: str | Path = DEFAULT_DIR,
                         spec_root: str | Path = SPEC_DIR) -> dict[str, Path]:
    frame = hparams_frame(paper_root, spec_root)
    out = Path(reports_root)
    out.mkdir(parents=True, exist_ok=True)
    shown = pd.DataFrame({
        "Model": frame["model"], "Training data": frame["train"], "Method": frame["method"],
        "d_max": frame["d_max"].map(lambda v: f"{v:g}"), "a": frame["a"].map(lambda v: f"{v:g}"),
        "Released checkpoint": frame["released"].replace("", "–"),
        "Conflict (paper.md §8.3)": frame["conflict"].map(lambda v: f"**{v}**" if v else ""),
        "Read by (spec:row)": frame["used_by"]})
    conflicts = int((frame["conflict"] != "").sum())
    repeats = _llama_repeats_gemma(frame)
    notes = [f"{conflicts} released checkpoint names disagree with the tables."]
    if repeats:
        notes.append(f"Table 11 repeats Table 10's rows {', '.join(repeats)}.")
    paths = {"md": out / "table10.md", "csv": out / "table10.csv"}
    paths["md"].write_text(
        "# table10 / table11\n\nBest hyper-parameters the paper reports (App. A.1.3), the single "
        "source of every tuned d_max and a in bench/*.yaml (`tuned:`), beside the released "
        "checkpoints (HF user nasos10; d_max and a parsed from each name). Whether the released "
        "checkpoints are the runs behind Table 1 is unknown. " + " ".join(notes) + "\n\n"
        + shown.to_markdown(index=False, disable_numparse=True) + "\n")
    frame.to_csv(paths["csv"], index=False)
    return paths


def _llama_repeats_gemma(frame: pd.DataFrame) -> list[str]:
    gemma = frame[frame["table"] == "table10"].set_index("row")
    llama = frame[frame["table"] == "table11"].set_index("row")
    # the training splits (not the baselines' optimum, which is the same for every split)
    common = [r for r in llama.index if r in gemma.index and llama.loc[r, "train"] != "every split"]
    keys = ["d_max", "a"]
    return [r for r in common if (llama.loc[r, keys] == gemma.loc[r, keys]).all()]
