"""CI's regression gate: a reduced tiny Table 2 rerun must match the committed golden values."""

from pathlib import Path

from mutorbench.bench.runner import run_table
from mutorbench.report.check import check

GOLDEN = Path(__file__).resolve().parents[1] / "baselines" / "golden"


def test_reduced_tiny_table2_matches_golden(tmp_path):
    paths = run_table("table2", scale="tiny", only="*/samsum/seed0",
                      spec_root=Path(__file__).resolve().parents[1] / "bench",
                      output_root=str(tmp_path), progress=False, reports_root=None)
    assert len(paths) == 3  # ntp, multi_token and mutor
    ok, rows = check(tmp_path, GOLDEN, subset=True)
    compared = [r for r in rows if r["status"] in ("ok", "DRIFT")]
    assert len(compared) == 12  # 3 cells x rouge1/2/L/Lsum
    assert ok, "\n".join(f"{r['cell']} {r['metric']}: {r.get('drift')}" for r in rows
                         if r["status"] != "ok")


def test_reduced_tiny_table7_matches_golden(tmp_path):
    """The image tables' gate: one next-token run of tiny Table 7, read at its three columns
    (sampling, VQ-free digits decoding and the digits feature space included)."""
    import pytest

    pytest.importorskip("torch_fidelity")
    paths = run_table("table7", scale="tiny", only="ntp/*/seed0",
                      spec_root=Path(__file__).resolve().parents[1] / "bench",
                      output_root=str(tmp_path), progress=False, reports_root=None)
    assert len(paths) == 3  # 100k, 200k, 360k: one training, read at 150 / 300 / 540 steps
    ok, rows = check(tmp_path, GOLDEN, subset=True)
    compared = [r for r in rows if r["status"] in ("ok", "DRIFT")]
    assert len(compared) == 12  # 3 cells x fid / inception_score / precision / recall
    assert ok, "\n".join(f"{r['cell']} {r['metric']}: {r.get('drift')}" for r in rows
                         if r["status"] != "ok")
