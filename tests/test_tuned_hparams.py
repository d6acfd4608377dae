"""Tables 10-11 are the one source of every tuned d_max / a: no spec types them.

Changing one value in a copy of `baselines/paper/table10.yaml` must change the resolved configs of
exactly the cells the paper runs with that value, and nothing else (every spec, every scale).
"""

import shutil
from pathlib import Path

import pytest
import yaml

from mutorbench.spec import SPEC_DIR, expand, load_spec
from mutorbench.train.config import config_tree

ROOT = Path(__file__).resolve().parents[1]
PAPER = ROOT / "baselines" / "paper"


def resolved(paper_root) -> dict[str, dict]:
    out = {}
    for path in sorted((ROOT / SPEC_DIR).glob("*.yaml")):
        spec = load_spec(path.stem, ROOT / SPEC_DIR)
        for scale in spec.scales:
            for cell in expand(spec, scale, paper_root=paper_root):
                if cell.config is not None:
                    out[f"{spec.table}/{scale}/{cell.row}/{cell.column}/seed{cell.seed}"] = (
                        config_tree(cell.config))
    return out


@pytest.fixture(scope="module")
def reference():
    return resolved(PAPER)


def changed(tmp_path, reference, table: str, row: str, key: str, value) -> dict[str, object]:
    copy = tmp_path / "paper"
    shutil.copytree(PAPER, copy)
    path = copy / f"{table}.yaml"
    data = yaml.safe_load(path.read_text())
    entry = next(r for r in data["rows"] if r["id"] == row)
    assert entry["values"][key] != value
    entry["values"][key] = value
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    after = resolved(copy)
    assert after.keys() == reference.keys()
    diff = {}
    for cell, tree in after.items():
        if tree != reference[cell]:
            rest = {**tree, "method": {k: v for k, v in tree["method"].items() if k != key}}
            ref = {**reference[cell], "method": {k: v for k, v in reference[cell]["method"].items()
                                                 if k != key}}
            assert rest == ref, f"{cell}: more than method.{key} changed"
            diff[cell] = tree["method"][key]
    return diff


def cells(reference, table, rows, columns) -> set[str]:
    return {c for c in reference if c.split("/")[0] == table
            and "/".join(c.split("/")[2:-2]) in rows and c.split("/")[-2] in columns}


def test_the_gsm8k_a_of_table_10_reaches_exactly_the_cells_that_use_it(tmp_path, reference):
    diff = changed(tmp_path, reference, "table10", "gsm8k", "a", 0.35)
    gsm = {"gsm8k@gsm8k"}
    expected = (cells(reference, "table1", {"gemma-2b/mutor"}, gsm)
                | cells(reference, "table4", {"mutor/2", "mutor/3", "mutor/4", "mutor/6"}, gsm)
                | cells(reference, "table5", {"lora/mutor"}, gsm)
                | cells(reference, "table6", {"mutor/shared", "mutor/per_offset"}, gsm)
                | cells(reference, "table12", {"mutor/5"}, gsm)
                | cells(reference, "table16", {"mutor"}, gsm))
    assert len(expected) == (3 + 2) * 10  # (paper 3 seeds + tiny 2) per row, 10 rows
    assert set(diff) == expected
    assert set(diff.values()) == {0.35}
    # Table 17 varies a itself and the 1M-GSM column has its own row: untouched
    assert not any(c.startswith("table17/") or "gsm8k@1m-gsm" in c for c in diff)


def test_a_d_max_of_table_10_reaches_the_rows_that_take_it_and_not_the_ones_that_vary_it(
        tmp_path, reference):
    diff = changed(tmp_path, reference, "table10", "samsum", "d_max", 5)
    expected = (cells(reference, "table2", {"mutor"}, {"samsum"})
                | cells(reference, "table13", {"mutor/3"}, {"samsum"}))
    assert set(diff) == expected and len(expected) == 2 * 5 and set(diff.values()) == {5}


def test_the_tuned_multi_token_is_read_once(tmp_path, reference):
    diff = changed(tmp_path, reference, "table10", "multi_token", "d_max", 3)
    every = {c.split("/")[-2] for c in reference}
    expected = (cells(reference, "table1", {"gemma-2b/multi_token"}, every)
                | cells(reference, "table2", {"multi_token"}, every)
                | cells(reference, "table12", {"multi_token/5", "multi_token/10"}, every)
                | cells(reference, "table13", {"multi_token/3", "multi_token/5"}, every)
                | cells(reference, "table16", {"multi_token"}, every))
    assert set(diff) == expected
    assert not any(c.startswith("table4/") for c in diff)  # Table 4 varies d_max itself


def test_table_11_reaches_only_the_llama_cells(tmp_path, reference):
    diff = changed(tmp_path, reference, "table11", "1m-gsm", "a", 0.1)
    expected = (cells(reference, "table1", {"llama-3-8b/mutor"}, {"gsm8k@1m-gsm"})
                | cells(reference, "table14", {"mutor/5"}, {"gsm8k@1m-gsm"}))
    assert set(diff) == expected and len(expected) == 2  # one run each, paper scale only


def test_a_tuned_row_without_its_training_data_is_one_clear_error(tmp_path):
    (tmp_path / "t.yaml").write_text(
        "table: t\ntitle: t\npaper: table1\n"
        "columns: [{id: c, overrides: {task: {name: gsm8k-gen}}}]\n"
        "rows: [{id: m, overrides: {method: {id: mutor}}, tuned: {table: table10}}]\n"
        "scales: {tiny: {seeds: [0], base: {scale: tiny}}}\n")
    with pytest.raises(ValueError, match=r"row 'm', column 'c': tuned from table10 needs the "
                       r"column's `train`"):
        expand(load_spec("t", tmp_path), "tiny", paper_root=PAPER)
    (tmp_path / "t.yaml").write_text((tmp_path / "t.yaml").read_text().replace(
        "{id: c,", "{id: c, train: nowhere,"))
    with pytest.raises(ValueError, match=r"table10 has no row 'nowhere' \(rows: gsm8k, 1m-gsm"):
        expand(load_spec("t", tmp_path), "tiny", paper_root=PAPER)
