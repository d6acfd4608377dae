"""The regression gate: passes unchanged, fails naming cell and metric on drift, clear errors."""

import json
import shutil

import pytest

from mutorbench.cli import main
from tests.test_report import tiny_table  # noqa: F401 (module fixture: a finished tiny table)


def test_bless_then_check_passes_and_drift_fails(tiny_table, tmp_path, capsys):  # noqa: F811
    root, paths = tiny_table
    results = tmp_path / "results"
    shutil.copytree(root / "results", results)
    assert main(["check", "--results", str(results), "--golden", str(tmp_path / "golden"),
                 "--bless", "tinytab-tiny"]) == 0
    assert main(["check", "--results", str(results), "--golden", str(tmp_path / "golden")]) == 0
    assert "4 ok, 0 drifted" in capsys.readouterr().out
    victim = next(results.rglob("mutor--arith--seed1/result.json"))
    data = json.loads(victim.read_text())
    data["metrics"]["selected"]["values"]["accuracy"] += 5.0
    victim.write_text(json.dumps(data))
    assert main(["check", "--results", str(results), "--golden", str(tmp_path / "golden")]) == 1
    captured = capsys.readouterr()
    assert "drift: tinytab|tiny|mutor/arith|seed1 accuracy: DRIFT" in captured.err
    assert "3 ok, 1 drifted" in captured.out
    victim.unlink()  # a golden cell without a result is drift too
    assert main(["check", "--results", str(results), "--golden", str(tmp_path / "golden")]) == 1
    assert "missing result" in capsys.readouterr().err
    assert main(["check", "--results", str(results), "--golden", str(tmp_path / "golden"),
                 "--subset"]) == 0  # unless the rerun is declared partial
    assert "3 ok, 0 drifted" in capsys.readouterr().out
    other = tmp_path / "golden" / "othertable-tiny.yaml"  # another table's golden file is ignored
    other.write_text("cells:\n  othertable|tiny|ntp/x|seed0: {values: {accuracy: 50.0}}\n")
    assert main(["check", "--results", str(results), "--golden", str(tmp_path / "golden"),
                 "--subset"]) == 0


def test_check_bad_input(tmp_path, capsys):
    assert main(["check", "--results", str(tmp_path / "none"), "--golden", str(tmp_path)]) == 2
    assert "results folder not found" in capsys.readouterr().err
    (tmp_path / "r" / "x").mkdir(parents=True)
    (tmp_path / "r" / "x" / "result.json").write_text("{broken")
    assert main(["check", "--results", str(tmp_path / "r"), "--golden", str(tmp_path)]) == 2
    assert "not valid JSON" in capsys.readouterr().err
    (tmp_path / "r" / "x" / "result.json").unlink()
    with pytest.raises(SystemExit):
        main(["check", "--results", str(tmp_path / "r")])  # --golden is required
