"""The reporter: paper and ours in separate columns, mean ± std over seeds, paired deltas."""

import json

import numpy as np
import pytest

from mutorbench.bench.runner import run_table
from mutorbench.cli import main
from mutorbench.report.stats import paired_bootstrap_delta
from mutorbench.report.tables import collect
from mutorbench.results import load_result
from tests.test_tables import TINY_SPEC


@pytest.fixture(scope="module")
def tiny_table(tmp_path_factory):
    root = tmp_path_factory.mktemp("rep")
    (root / "specs").mkdir()
    (root / "specs" / "tinytab.yaml").write_text(TINY_SPEC)
    paths = run_table("tinytab", scale="tiny", spec_root=root / "specs",
                      output_root=str(root / "results"), progress=False, reports_root=None)
    return root, paths


def test_collect_means_and_status(tiny_table):
    root, paths = tiny_table
    frame = collect("tinytab", "tiny", spec_root=root / "specs", results_root=str(root / "results"))
    by_row = {r["row"]: r for _, r in frame.iterrows()}
    assert by_row["ntp"]["paper"] == 38.87 and by_row["mutor"]["paper"] == 42.10  # Table 1 values
    assert by_row["multi_token"]["status"] == "not_run" and by_row["multi_token"]["n"] == 0
    acc = [load_result(p).metrics.selected.values["accuracy"] for p in paths
           if "mutor--" in str(p)]
    assert by_row["mutor"]["n"] == 2 and by_row["mutor"]["mean"] == pytest.approx(np.mean(acc))
    assert by_row["mutor"]["std"] == pytest.approx(np.std(acc, ddof=1))
    assert not np.isnan(by_row["mutor"]["delta"])  # paired with the ntp row's seeds


def test_report_files(tiny_table, capsys):
    root, _ = tiny_table
    assert main(["report", "tinytab", "--scale", "tiny", "--specs", str(root / "specs"),
                 "--results", str(root / "results"), "--reports", str(root / "reports")]) == 0
    md = (root / "reports" / "tinytab.md").read_text()
    header = next(line for line in md.splitlines() if line.startswith("| Row"))
    assert "Paper" in header and "Ours (tiny)" in header and "Ours Δ vs Next-Token [95% CI]" in header
    assert "Paper Δ" in header and "| +3.23 " in md  # 42.10 - 38.87, from the paper table
    assert "not run" in md and "(n=2)" in md and "42.10" in md and "never combined" in md
    assert (root / "reports" / "tinytab.png").stat().st_size > 1000
    assert "\\begin{table}" in (root / "reports" / "tinytab.tex").read_text()
    assert "paper" in (root / "reports" / "tinytab.csv").read_text().splitlines()[0]


def test_paired_bootstrap_by_hand():
    method = np.array([[100.0, 100.0, 0.0, 100.0]])
    base = np.array([[0.0, 100.0, 0.0, 100.0]])
    delta, lo, hi = paired_bootstrap_delta(method, base, resamples=4000)
    assert delta == 25.0 and 0.0 <= lo <= delta <= hi <= 100.0
    same = paired_bootstrap_delta(base, base)
    assert same == (0.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="equal shapes"):
        paired_bootstrap_delta(method, base[:, :2])
    assert json.dumps(paired_bootstrap_delta(method, base, seed=1)) == json.dumps(
        paired_bootstrap_delta(method, base, seed=1))  # deterministic
