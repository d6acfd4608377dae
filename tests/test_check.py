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


def test_golden_values_record_their_environment_and_check_names_a_change(
        tiny_table, tmp_path, capsys):  # noqa: F811
    import yaml

    root, _ = tiny_table
    results = tmp_path / "results"
    shutil.copytree(root / "results", results)
    golden = tmp_path / "golden"
    assert main(["check", "--results", str(results), "--golden", str(golden),
                 "--bless", "tinytab-tiny"]) == 0
    env = yaml.safe_load((golden / "tinytab-tiny.yaml").read_text())["environment"]
    # the image metrics' packages too, where installed (the tox env of the tests has them)
    assert {"torch", "transformers", "tokenizers", "peft", "numpy", "python"} <= set(env)
    assert set(env) <= {"torch", "transformers", "tokenizers", "peft", "numpy", "python",
                        "scikit-learn", "scipy", "torch-fidelity"}
    assert main(["check", "--results", str(results), "--golden", str(golden)]) == 0
    assert "note:" not in capsys.readouterr().out  # same versions: nothing to say
    victim = next(results.rglob("mutor--arith--seed1/result.json"))
    data = json.loads(victim.read_text())
    data["provenance"]["packages"]["transformers"] = "0.0.1"
    victim.write_text(json.dumps(data))
    assert main(["check", "--results", str(results), "--golden", str(golden)]) == 0
    assert (f"note: 1 golden cells were blessed with transformers {env['transformers']}; these "
            "results ran with transformers 0.0.1") in capsys.readouterr().out
    assert main(["check", "--results", str(results), "--golden", str(tmp_path / "g2"),
                 "--bless", "mixed"]) == 2  # one golden file, one environment
    assert "cannot bless results of 2 different environments" in capsys.readouterr().err
    assert not (tmp_path / "g2" / "mixed.yaml").exists()
