"""The demo command: runs both arms through the training loop, deterministically; bad options fail."""

from mutorbench.cli import main
from mutorbench.demo import DemoConfig, run_demo


def small(tmp_path, **kw):
    return DemoConfig(steps=6, batch_size=4, train_examples=40, eval_examples=4, hidden_size=32,
                      output_dir=str(tmp_path), **kw)


def test_demo_runs_and_is_deterministic(tmp_path, capsys):
    first = run_demo(small(tmp_path / "a"))
    second = run_demo(small(tmp_path / "b"))
    for arm in ("ntp", "mutor"):  # same seed, same machine: identical numbers (speed aside)
        assert first[arm]["final_loss"] == second[arm]["final_loss"]
        assert first[arm]["accuracy"] == second[arm]["accuracy"]
    assert set(first["mutor"]["final_loss"]) == {"loss", "loss_regular", "loss_register"}
    out = capsys.readouterr().out
    assert "demo summary: 6 steps x batch 4" in out


def test_cli_demo_and_bad_option(tmp_path, capsys):
    assert main(["demo", "--steps", "3", "--batch-size", "2", "--train-examples", "20",
                 "--eval-examples", "2", "--hidden-size", "32", "--output-dir", str(tmp_path)]) == 0
    assert "demo summary: 3 steps" in capsys.readouterr().out
    assert main(["demo", "--steps", "0"]) == 2
    err = capsys.readouterr().err  # checked by the run config, named by the demo's option
    assert err == "mutor-bench: error: --steps 0: config error at budget.amount: Input should be greater than 0\n"
