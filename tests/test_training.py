"""Issue 3 acceptance: pairing, determinism, resume, atomic results, schema, config round trip."""

import json

import pytest

from mutorbench.results import load_result
from mutorbench.train.config import config_tree, parse_config
from mutorbench.train.loop import Interrupted, train
from tests.runs import log_of, tiny_run


@pytest.fixture(scope="module")
def arms(tmp_path_factory):
    out = tmp_path_factory.mktemp("arms")
    return {
        ("ntp", 0): train(tiny_run(out, "ntp"), progress=False),
        ("mutor", 0): train(tiny_run(out, "mutor"), progress=False),
        ("ntp", 1): train(tiny_run(out, "ntp", "seed=1"), progress=False),
    }


def test_paired_arms_share_data_order_content_and_initial_weights(arms):
    ntp, mutor, other = (load_result(arms[k]) for k in [("ntp", 0), ("mutor", 0), ("ntp", 1)])
    assert ntp.data.order_hash == mutor.data.order_hash
    assert ntp.data.content_hash == mutor.data.content_hash
    assert ntp.init_weights_hash == mutor.init_weights_hash
    assert ntp.budget.total_steps == mutor.budget.total_steps == 24  # 48 / 4 x 2 epochs
    assert ntp.budget.regular_tokens == mutor.budget.regular_tokens
    assert mutor.budget.register_tokens > 0 and ntp.budget.register_tokens == 0
    # another seed: another order and (random init) other weights; the data itself is the same
    assert other.data.order_hash != ntp.data.order_hash
    assert other.init_weights_hash != ntp.init_weights_hash
    assert other.data.content_hash == ntp.data.content_hash


def test_result_records_everything(arms):
    r = load_result(arms[("mutor", 0)])
    assert r.method.id == "mutor" and r.method.hyperparameters["d_max"] == 3
    assert r.method.hyperparameters["register_init"]["rule"] == "normal"
    assert [c.epoch for c in r.metrics.checkpoints] == [1.0, 2.0]
    assert set(r.metrics.selected.values) == {"accuracy"}
    assert r.metrics.selected.rule == "best accuracy on test, reported on test"
    assert r.throughput.register_tokens_per_s > 0 and r.throughput.threads >= 1
    assert r.throughput.peak_memory_bytes > 10_000_000
    assert r.provenance.packages["torch"] and r.provenance.start_utc <= r.provenance.end_utc
    assert r.data.counts["train"]["kept"] == 48
    steps = log_of(arms[("mutor", 0)])
    assert [s["step"] for s in steps] == list(range(1, 25))
    assert {"lr", "loss", "loss_regular", "loss_register", "grad_norm", "time_s"} <= set(steps[0])


def test_rerun_gives_identical_losses_and_metrics(arms, tmp_path):
    again = train(tiny_run(tmp_path, "mutor"), progress=False)
    first = [{k: v for k, v in s.items() if k != "time_s"} for s in log_of(arms[("mutor", 0)])]
    second = [{k: v for k, v in s.items() if k != "time_s"} for s in log_of(again)]
    assert first == second
    assert load_result(again).metrics == load_result(arms[("mutor", 0)]).metrics


def test_config_of_a_result_reproduces_it(arms, tmp_path):
    r = load_result(arms[("ntp", 0)])
    cfg = parse_config(r.config | {"output_dir": str(tmp_path)})
    assert config_tree(cfg) == r.config | {"output_dir": str(tmp_path)}
    again = train(cfg, progress=False)
    assert [s["loss"] for s in log_of(again)] == [s["loss"] for s in log_of(arms[("ntp", 0)])]


@pytest.mark.parametrize("method", ["ntp", "mutor"])
def test_resume_mid_epoch_matches_uninterrupted_run(arms, tmp_path, method):
    cfg = tiny_run(tmp_path, method, "checkpoint_every_steps=5")
    with pytest.raises(Interrupted):
        train(cfg, stop_after_steps=7, progress=False)  # step 7: mid-epoch, checkpoint at 5
    run_dir = tmp_path / f"{method}-seed0"
    assert not (run_dir / "result.json").exists()  # an unfinished run leaves no result
    assert (run_dir / "checkpoint.pt").exists()
    (run_dir / "checkpoint.pt.tmp").write_bytes(b"half-written by a killed save")
    resumed = train(cfg, progress=False)
    assert not list(run_dir.glob("*.tmp"))  # cleaned up on resume
    full = log_of(arms[(method, 0)])
    got = log_of(resumed)
    assert [s["step"] for s in got] == list(range(1, 25))
    assert max(abs(a["loss"] - b["loss"]) for a, b in zip(got, full)) <= 1e-6
    assert load_result(resumed).data.order_hash == load_result(arms[(method, 0)]).data.order_hash


def test_eval_every_steps_adds_curve_points_that_resume_keeps(arms, tmp_path):
    cfg = tiny_run(tmp_path, "ntp", "eval.every_steps=5")  # 24 steps, 12 per epoch
    with pytest.raises(Interrupted):
        train(cfg, stop_after_steps=11, progress=False)  # last saved at the step-10 evaluation
    path = train(cfg, progress=False)
    r = load_result(path)
    assert [c.step for c in r.metrics.checkpoints] == [5, 10, 12, 15, 20, 24]
    plain = {c.step: c.values for c in load_result(arms[("ntp", 0)]).metrics.checkpoints}
    # extra evaluations do not touch training: the epoch-end values are the plain run's
    assert {c.step: c.values for c in r.metrics.checkpoints if c.step in plain} == plain
    assert [s["loss"] for s in log_of(path)] == [s["loss"] for s in log_of(arms[("ntp", 0)])]


def test_finished_run_is_not_overwritten(arms):
    cfg = tiny_run(arms[("ntp", 0)].parent.parent, "ntp")
    with pytest.raises(ValueError, match="this run is complete"):
        train(cfg, progress=False)


def test_result_json_is_plain_json(arms):
    data = json.loads(arms[("ntp", 0)].read_text())
    assert data["schema_version"] == 1 and data["status"] == "complete"
    assert list(data)[:5] == ["schema_version", "kind", "table", "cell", "scale"]


def test_generations_are_logged_and_metrics_recompute_from_them(arms):
    run_dir = arms[("mutor", 0)].parent
    r = load_result(arms[("mutor", 0)])
    for cp in r.metrics.checkpoints:
        path = run_dir / "generations" / f"step{cp.step:07d}-test.jsonl"
        rows = [json.loads(line) for line in path.read_text().splitlines()]
        assert len(rows) == 4 and {"prompt", "completion", "reference", "extracted",
                                   "correct"} <= set(rows[0])
        assert 100.0 * sum(x["correct"] for x in rows) / len(rows) == cp.values["accuracy"]


def test_selection_on_validation_reports_test():
    from mutorbench.selection import select

    cps = [{"step": s, "epoch": s / 10, "split": split, "values": {"rougeL": v}}
           for s, split, v in [(10, "validation", 30.0), (10, "test", 31.0),
                               (20, "validation", 35.0), (20, "test", 29.0),
                               (30, "validation", 33.0), (30, "test", 36.0)]]
    best = select(cps, "best", "rougeL", "validation", "test")
    assert best["checkpoint"]["step"] == 20 and best["values"] == {"rougeL": 29.0}
    assert best["rule"] == "best rougeL on validation, reported on test"
    assert select(cps, "last", "rougeL", "validation", "test")["values"] == {"rougeL": 36.0}
    fid = [{"step": s, "epoch": 1.0, "split": "test", "values": {"fid": v}}
           for s, v in [(1, 7.0), (2, 5.0), (3, 6.0)]]
    assert select(fid, "best", "fid", "test", "test")["checkpoint"]["step"] == 2  # lower is better


def test_training_evaluates_the_selection_and_report_splits(tmp_path):
    path = train(tiny_run(tmp_path, "ntp", "eval.select_split=validation", "budget.amount=1"),
                 progress=False)
    r = load_result(path)
    assert [(c.step, c.split) for c in r.metrics.checkpoints] == [(12, "validation"), (12, "test")]
    assert r.metrics.selected.checkpoint.split == "test"
    assert sorted(p.name for p in (path.parent / "generations").iterdir()) == [
        "step0000012-test.jsonl", "step0000012-validation.jsonl"]
