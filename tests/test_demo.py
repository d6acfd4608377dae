"""The demo command: runs end to end, is deterministic, and rejects bad options cleanly."""

from mutorbench.cli import main
from mutorbench.demo import DemoConfig, run_demo

SMALL = DemoConfig(steps=6, batch_size=4, train_examples=40, eval_examples=4, hidden_size=32)


def test_demo_runs_and_is_deterministic(capsys):
    first = run_demo(SMALL)
    second = run_demo(SMALL)
    for arm in ("ntp", "mutor"):  # same seed, same machine: identical numbers (speed aside)
        assert first[arm]["final_loss"] == second[arm]["final_loss"]
        assert first[arm]["accuracy"] == second[arm]["accuracy"]
    assert set(first) == {"ntp", "mutor"}
    assert set(first["mutor"]["final_loss"]) == {"loss", "loss_regular", "loss_register"}
    # the two arms start from the same weights and data: their first losses agree closely
    assert abs(first["ntp"]["final_loss"]["loss"] - first["mutor"]["final_loss"]["loss"]) < 0.5
    out = capsys.readouterr().out
    assert "summary: 6 steps x batch 4" in out
    assert "mutor" in out and "ntp" in out


def test_cli_demo_and_bad_option(capsys):
    assert main(["demo", "--steps", "3", "--batch-size", "2", "--train-examples", "20",
                 "--eval-examples", "2", "--hidden-size", "32"]) == 0
    assert "summary: 3 steps" in capsys.readouterr().out
    assert main(["demo", "--steps", "0"]) == 2
    assert "mutor-bench: error: --steps must be >= 1, got 0" in capsys.readouterr().err
