"""`baselines/paper/`: every metric value of Tables 1-17, structured, checked against paper.md."""

import re
from pathlib import Path

import pytest

from mutorbench.paper import load_all, load_paper_table, table_files
from mutorbench.yamlio import load_yaml_file

ROOT = Path(__file__).resolve().parents[1] / "baselines" / "paper"
PAPER_MD = Path(__file__).resolve().parents[2] / "shared" / "paper.md"


def decimals_in(tree) -> set[float]:
    """Every non-integer number anywhere in a loaded YAML tree."""
    if isinstance(tree, dict):
        return set().union(*(decimals_in(v) for v in tree.values())) if tree else set()
    if isinstance(tree, list):
        return set().union(*(decimals_in(v) for v in tree)) if tree else set()
    if isinstance(tree, float):
        return {tree}
    return set()


def ours() -> set[float]:
    return set().union(*(decimals_in(load_yaml_file(p)) for p in table_files(ROOT)))


def test_every_table_loads_and_is_consistent():
    tables = load_all(ROOT)
    assert sorted(tables) == ["fig4"] + [f"table{i:02d}" for i in range(1, 18)]
    assert tables["fig4"].qualitative and not tables["fig4"].rows
    assert all(t.rows for name, t in tables.items() if name != "fig4")


def test_157_distinct_decimal_values():
    assert len(ours()) == 157


@pytest.mark.skipif(not PAPER_MD.exists(), reason="shared/paper.md not beside the checkout")
def test_values_are_exactly_the_papers():
    text = PAPER_MD.read_text()
    section = text[text.index("## 4. Results"):text.index("## 5. Hyperparameters")]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    paper = {float(v) for line in rows
             for v in re.findall(r"(?<![\w.])\d+\.\d+(?![\w.])", line)}
    assert ours() == paper


@pytest.mark.parametrize(
    "table,row,column,value",
    [
        ("table1", "gemma-2b/mutor", "gsm8k@gsm8k", 42.10),
        ("table1", "llama-3-8b/ntp", "math500@1m-math", 41.4),
        ("table1", "llama-3-8b/mutor", "aqua@aqua", None),
        ("table2", "mutor", "dialogsum/rougeL", 39.48),
        ("table4", "mutor/6", "gsm8k@gsm8k", 39.90),
        ("table5", "lora/mutor", "gsm8k@1m-gsm", 68.11),
        ("table7", "360k/mutor2d", "fid", 5.09),
        ("table7", "100k/ntp", "precision", 0.830),
        ("table9", "100k/5", "inception_score", 154.8),
        ("table10", "samsum", "d_max", 3),
        ("table10", "dialogsum", "a", 0.5),
        ("table14", "mutor/5", "gsm8k@1m-gsm", 87.05),
        ("table15", "mutor2d/80/360k", "inception_score", 196.6),
        ("table16", "ds_multi_token", "math500@1m-math", 27.00),
        ("table17", "ntp", "gsm8k@gsm8k", 38.43),
    ],
)
def test_spot_checks(table, row, column, value):
    assert load_paper_table(table, ROOT).value(row, column) == value


def test_the_papers_inconsistencies_are_flagged():
    t1, t14 = load_paper_table("table1", ROOT), load_paper_table("table14", ROOT)
    assert t1.inconsistencies[0]["conflicts_with"]["value"] == 87.05
    assert t14.inconsistencies[0]["conflicts_with"]["value"] == 87.11
    assert load_paper_table("table15", ROOT).inconsistencies[0]["conflicts_with"]["value"] == 195.6


def test_unknown_table_and_malformed_file(tmp_path):
    with pytest.raises(ValueError, match="no paper numbers for 'table99'"):
        load_paper_table("table99", ROOT)
    (tmp_path / "table01.yaml").write_text(
        "table: t\ntitle: t\nsource: s\nmetric: m\ncolumns: [{id: a}]\n"
        "rows: [{id: r, values: {b: 1.0}}]\n")
    with pytest.raises(ValueError, match="values must name exactly the columns"):
        load_paper_table("table1", tmp_path)
