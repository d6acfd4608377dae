"""Tracking in `mutor-bench train`: TensorBoard's scalars are log.jsonl's and the evaluations';
W&B runs offline without a network or key; a missing package is one line before any work."""

import json

import pytest

from mutorbench.cli import main
from mutorbench.identity import training_tree
from mutorbench.results import load_result
from mutorbench.train.config import config_tree, load_config

SETS = ["task.train_examples=16", "task.eval_examples=2", "model.hidden_size=32",
        "tokenizer.vocab_size=300", "batch.micro_batch_size=4", "budget.kind=steps",
        "budget.amount=6", "eval.max_new_tokens=6", "method.id=mutor", "method.d_max=3"]


def _train(out, *sets) -> int:
    return main(["train", "--no-progress", *[x for s in [*SETS, f"output_dir={out}", *sets]
                                             for x in ("--set", s)]])


def test_tensorboard_scalars_equal_the_log_and_the_evaluations(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    assert _train(tmp_path, "logging.report_to=[tensorboard]") == 0
    run = tmp_path / "mutor-seed0"
    events = EventAccumulator(str(run / "tensorboard"), size_guidance={"scalars": 0}).Reload()
    log = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    for key in ("loss", "loss_regular", "loss_register", "lr", "grad_norm", "regular_tokens"):
        scalars = events.Scalars(key)
        assert [s.step for s in scalars] == [r["step"] for r in log]
        assert [s.value for s in scalars] == pytest.approx([r[key] for r in log], rel=1e-6)
    checkpoints = load_result(run / "result.json").metrics.checkpoints
    evals = events.Scalars("eval/test/accuracy")
    assert [(s.step, s.value) for s in evals] == [(c.step, pytest.approx(c.values["accuracy"]))
                                                  for c in checkpoints]


def test_wandb_runs_offline_without_a_key_or_network(tmp_path, monkeypatch):
    pytest.importorskip("wandb")
    for var in ("WANDB_MODE", "WANDB_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("WANDB_SILENT", "true")
    assert _train(tmp_path, "logging.report_to=wandb") == 0
    runs = list((tmp_path / "mutor-seed0" / "wandb").glob("offline-run-*"))
    assert len(runs) == 1 and list(runs[0].glob("*.wandb"))


def test_a_missing_tracker_package_is_one_line_before_any_work(tmp_path, monkeypatch, capsys):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "wandb" else real(name, *a))
    assert _train(tmp_path / "out", "logging.report_to=[wandb]") == 2
    assert capsys.readouterr().err == ("mutor-bench: error: logging.report_to: wandb needs the "
                                       "wandb package: pip install 'mutorbench[tracking]'\n")
    assert not (tmp_path / "out").exists()


def test_report_to_values_and_tracking_is_not_part_of_a_runs_identity():
    assert load_config(None, []).logging.trackers == ()
    assert load_config(None, ["logging.report_to=tensorboard"]).logging.trackers == ("tensorboard",)
    with pytest.raises(ValueError, match="`none` cannot be combined with a tracker"):
        load_config(None, ["logging.report_to=[none,wandb]"])
    with pytest.raises(ValueError, match="config error at logging.report_to.0"):
        load_config(None, ["logging.report_to=[mlflow]"])
    plain, tracked = (training_tree(config_tree(load_config(None, s)))
                      for s in ([], ["logging.report_to=[tensorboard,wandb]"]))
    assert plain == tracked  # a resume or a skip ignores where the curves are also sent
