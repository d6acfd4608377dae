"""Results you can trust: the fourteen reproductions of the integrity issue, each refused or
handled correctly (and, for skipping and resuming, the right way out shown to work)."""

import errno
import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from mutorbench.bench.runner import run_table
from mutorbench.cli import main
from mutorbench.report.check import check
from mutorbench.report.tables import write_report
from mutorbench.results import SCHEMA_VERSION, load_result, write_result
from mutorbench.tasks.aqua import AquaTask
from mutorbench.tasks.gsm8k import GSM8KTask
from mutorbench.tasks.star_graph import StarGraphTask
from mutorbench.tasks.summarization import DialogSumTask
from mutorbench.train import checkpoint as ckpt_module
from mutorbench.train.config import load_config
from mutorbench.train.loop import Interrupted, train
from tests.runs import log_of, tiny_run
from tests.test_tables import TINY_SPEC

HASH = "0" * 64
ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
       "TRANSFORMERS_OFFLINE": "1", "PYTHONPATH": str(ROOT / "src")}


def minimal_result(path, *, values=None, table="tinytab", row="ntp", column="arith", seed=0):
    """A schema-valid result with chosen selected values (no training needed)."""
    values = {"accuracy": 50.0} if values is None else values
    cp = {"step": 1, "epoch": 1.0, "split": "test", "values": values}
    return write_result(path, {
        "schema_version": SCHEMA_VERSION, "kind": "train", "table": table,
        "cell": {"row": row, "column": column}, "scale": "tiny",
        "method": {"id": row, "hyperparameters": {}}, "seed": seed, "config": {},
        "budget": None,
        "data": {"task": column, "sources": {}, "counts": {}, "content_hash": HASH,
                 "order_hash": None, "split_hashes": {"train": HASH}},
        "init_weights_hash": HASH,
        "metrics": {"checkpoints": [cp], "selected": {"rule": "last", "checkpoint": cp,
                                                       "values": values}},
        "throughput": {"regular_tokens_per_s": 0.0, "register_tokens_per_s": 0.0,
                       "step_time_median_s": 0.0, "peak_memory_bytes": 0,
                       "peak_memory_kind": "cpu_rss", "device": "cpu", "threads": 1,
                       "world_size": 1},
        "provenance": {"git_sha": None, "packages": {}, "python": "3", "hardware": {},
                       "command": [], "start_utc": "t", "end_utc": "t"},
        "status": "complete"})


@pytest.fixture
def specs(tmp_path):
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "tinytab.yaml").write_text(TINY_SPEC)
    return tmp_path / "specs"


def _run(tmp_path, specs, **kw):
    return run_table("tinytab", scale="tiny", spec_root=specs, output_root=str(tmp_path / "r"),
                     progress=False, reports_root=str(tmp_path / "reports"), **kw)


# 1. a finished cell trained with another config is neither skipped nor averaged
def test_run_refuses_a_finished_cell_with_another_config_then_retrains(tmp_path, specs):
    _run(tmp_path, specs, only="ntp/arith/seed0")
    other = ["budget.amount=4", "optim.lr=1e-3"]
    with pytest.raises(ValueError, match=r"cell ntp/arith/seed0: .* another config .*"
                                         r"budget.amount 3.0 -> 4.0.*optim.lr 0.003 -> 0.001"):
        _run(tmp_path, specs, only="ntp/arith/seed*", overrides=other)
    assert not (tmp_path / "r/tinytab/tiny/ntp--arith--seed1").exists()  # refused before training
    paths = _run(tmp_path, specs, only="ntp/arith/seed*", overrides=other, retrain=True)
    retired = list((tmp_path / "r/tinytab/tiny/.retired").iterdir())
    assert len(retired) == 1 and (retired[0] / "result.json").exists()  # moved aside, kept
    assert [load_result(p).config["budget"]["amount"] for p in paths] == [4, 4]
    assert "(n=2)" in (tmp_path / "reports" / "tinytab.md").read_text()
    # and another results root starts clean with the same overrides
    fresh = run_table("tinytab", scale="tiny", spec_root=specs, only="ntp/arith/seed0",
                      output_root=str(tmp_path / "r2"), progress=False, reports_root=None,
                      overrides=other)
    assert load_result(fresh[0]).config["optim"]["lr"] == 1e-3


def test_report_refuses_to_average_seeds_trained_differently(tmp_path, specs):
    _run(tmp_path, specs, only="ntp/arith/seed*")
    seed1 = tmp_path / "r/tinytab/tiny/ntp--arith--seed1/result.json"
    data = json.loads(seed1.read_text())
    data["config"]["optim"]["lr"] = 1e-3  # as if trained with another learning rate
    seed1.write_text(json.dumps(data))
    with pytest.raises(ValueError, match=r"cell ntp/arith: seeds 0 and 1 were trained with "
                                         r"different configs \(optim.lr"):
        write_report("tinytab", "tiny", spec_root=specs, results_root=str(tmp_path / "r"),
                     reports_root=str(tmp_path / "reports2"))


def test_run_refuses_a_finished_cell_whose_data_changed(tmp_path):
    data = tmp_path / "data"
    rows = [{"prompt": f"Reverse {w}:", "answer": " " + w[::-1]} for w in ["abc", "tree"] * 12]
    for split in ("train", "test"):
        (data / split).parent.mkdir(parents=True, exist_ok=True)
        (data / f"{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    spec = TINY_SPEC.replace("{task: {name: arith, train_examples: 24, eval_examples: 2}}",
                             f"{{task: {{name: jsonl, local_path: '{data}', metric: exact}}}}")
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "tinytab.yaml").write_text(spec)
    _run(tmp_path, tmp_path / "specs", only="ntp/arith/seed0")
    (data / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows[:4]))
    with pytest.raises(ValueError, match="the data of split test changed"):
        _run(tmp_path, tmp_path / "specs", only="ntp/arith/seed0")


# 2. resume checks what it resumes: data, tokenizer, config
def _jsonl_data(root, words):
    root.mkdir(parents=True, exist_ok=True)
    rows = [{"prompt": f"Reverse {w}:", "answer": " " + w[::-1]} for w in words]
    for split in ("train", "test"):
        (root / f"{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_resume_after_the_data_changed_is_refused(tmp_path, monkeypatch):
    data = tmp_path / "data"
    _jsonl_data(data, ["abc", "tree", "stone", "river"] * 12)
    sets = ["task.name=jsonl", f"task.local_path={data}", "task.metric=exact",
            "checkpoint_every_steps=5"]
    cfg = tiny_run(tmp_path / "runs", "mutor", *sets)
    full = train(tiny_run(tmp_path / "full", "mutor", *sets), progress=False)
    with pytest.raises(Interrupted):
        train(cfg, stop_after_steps=7, progress=False)
    saved = (data / "train.jsonl").read_text()
    _jsonl_data(data, ["cloud", "light", "sand", "wind"] * 12)  # other data, other BPE merges
    with pytest.raises(ValueError, match="cannot resume, the data differs .*split test, train "
                                         "changed"):
        train(cfg, progress=False)
    (data / "train.jsonl").write_text(saved)
    (data / "test.jsonl").write_text(saved)
    # the resume reuses the checkpoint's tokenizer: it never trains one again
    monkeypatch.setattr("mutorbench.train.loop.build_tokenizer",
                        lambda *a: pytest.fail("the tokenizer was retrained on resume"))
    resumed = train(cfg, progress=False)
    assert [s["loss"] for s in log_of(resumed)] == pytest.approx(
        [s["loss"] for s in log_of(full)], abs=1e-6)
    r = load_result(resumed)
    assert set(r.data.split_hashes) == {"train", "test"} and r.data.tokenizer_hash


def test_resume_with_another_config_names_the_keys(tmp_path):
    cfg = tiny_run(tmp_path, "ntp", "checkpoint_every_steps=5")
    with pytest.raises(Interrupted):
        train(cfg, stop_after_steps=6, progress=False)
    with pytest.raises(ValueError, match=r"the config differs .*optim.lr 0.003 -> 0.001"):
        train(tiny_run(tmp_path, "ntp", "checkpoint_every_steps=5", "optim.lr=1e-3"),
              progress=False)


# 3. an unknown selection metric is refused before any work
@pytest.mark.parametrize("task,metric,valid", [
    ("dialogues", "rougel", "rougeL, rouge1, rouge2, rougeLsum"),
    ("arith", "rougeL", "accuracy"),
    ("star_graph", "accuracy", "solve_rate, decisive_accuracy, token_accuracy"),
])
def test_unknown_eval_metric_is_refused_up_front(tmp_path, task, metric, valid):
    sets = [f"task.name={task}", f"eval.metric={metric}"]
    if task == "star_graph":
        sets.append("tokenizer.kind=numeral")
    with pytest.raises(ValueError, match=f"eval.metric '{metric}' is not a value .* valid: {valid}"):
        train(tiny_run(tmp_path, "ntp", *sets), progress=False)
    assert not (tmp_path / "ntp-seed0").exists()


def test_spec_metric_names_must_be_values_the_task_produces(tmp_path):
    from mutorbench.spec import expand, load_spec

    (tmp_path / "tinytab.yaml").write_text(TINY_SPEC.replace("paper: {accuracy:", "paper: {rougeL:"))
    with pytest.raises(ValueError, match=r"column arith: paper names \['rougeL'\], which task "
                                         r"'arith' does not produce \(valid: accuracy\)"):
        expand(load_spec("tinytab", tmp_path), "tiny")


def test_default_selection_metric_is_the_tasks_own():
    assert load_config(None, ["task.name=samsum"]).eval.metric == "rougeL"
    assert load_config(None, ["task.name=star_graph"]).eval.metric == "solve_rate"
    assert load_config(None, ["task.name=gsm8k"]).eval.metric == "accuracy"


def test_selection_never_picks_by_a_missing_value():
    from mutorbench.selection import select

    cps = [{"step": 1, "epoch": 1.0, "split": "test", "values": {"rougeL": 1.0}}]
    with pytest.raises(ValueError, match="selection metric 'rougel' is not among"):
        select(cps, "best", "rougel", "test", "test")


# 4. the gate cannot pass garbage
def test_gate_counts_nan_and_inf_results_as_drift(tmp_path):
    for seed, value in enumerate([float("nan"), float("inf")]):
        minimal_result(tmp_path / "r" / f"s{seed}" / "result.json", values={"rougeL": value},
                       seed=seed)
    (tmp_path / "g").mkdir()
    (tmp_path / "g" / "t.yaml").write_text(
        "cells:\n" + "".join(f"  tinytab|tiny|ntp/arith|seed{s}: {{values: {{rougeL: 40.0}}}}\n"
                             for s in (0, 1)))
    ok, rows = check(tmp_path / "r", tmp_path / "g")
    assert not ok and [r["status"] for r in rows] == ["DRIFT (not finite)"] * 2


@pytest.mark.parametrize("golden,message", [
    ("values: {rougeL: .nan}", "finite number"),
    ("values: {rougeL: .inf}", "finite number"),
    ("values: {}", "at least 1 item"),
])
def test_gate_refuses_golden_values_it_cannot_compare(tmp_path, golden, message):
    minimal_result(tmp_path / "r" / "x" / "result.json", values={"rougeL": 40.0})
    (tmp_path / "g").mkdir()
    (tmp_path / "g" / "t.yaml").write_text(f"cells:\n  tinytab|tiny|ntp/arith|seed0: {{{golden}}}\n")
    with pytest.raises(ValueError, match=message):
        check(tmp_path / "r", tmp_path / "g")


def test_gate_that_compares_nothing_exits_nonzero_and_the_summary_counts_values(tmp_path, capsys):
    minimal_result(tmp_path / "r" / "x" / "result.json", values={"rougeL": 40.0, "rouge1": 41.0})
    (tmp_path / "g").mkdir()
    (tmp_path / "g" / "t.yaml").write_text(
        "cells:\n  tinytab|tiny|ntp/arith|seed0: {values: {rougeL: 40.5, rouge1: 41.0}}\n")
    assert main(["check", "--results", str(tmp_path / "r"), "--golden", str(tmp_path / "g")]) == 0
    assert "2 values compared: 2 ok, 0 drifted" in capsys.readouterr().out
    (tmp_path / "g" / "t.yaml").write_text("cells:\n  other|tiny|ntp/x|seed0: {values: {a: 1.0}}\n")
    assert main(["check", "--results", str(tmp_path / "r"), "--golden", str(tmp_path / "g")]) == 2
    assert "nothing to compare" in capsys.readouterr().err


# 5. a checkpoint cannot run code
class Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


def test_a_malicious_checkpoint_does_not_execute(tmp_path, capsys):
    marker = tmp_path / "PWNED"
    run_dir = tmp_path / "out" / "ntp-seed0"
    run_dir.mkdir(parents=True)
    torch.save({"format": ckpt_module.FORMAT, "model": Payload(marker)}, run_dir / "checkpoint.pt")
    assert not marker.exists()
    argv = ["train", "--no-progress", *[x for s in ["task.train_examples=24", "task.eval_examples=2",
                                                   f"output_dir={tmp_path / 'out'}"]
                                      for x in ("--set", s)]]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert not marker.exists(), "the checkpoint's payload ran"
    assert err.count("\n") == 1 and "refused to load it" in err and "checkpoint.pt" in err


# 6. one writer per run folder
def test_two_identical_runs_on_one_root_train_the_cell_once(tmp_path, specs):
    cmd = [sys.executable, "-m", "mutorbench.cli", "run", "tinytab", "--scale", "tiny",
           "--specs", str(specs), "--results", str(tmp_path / "r"), "--reports",
           str(tmp_path / "reports"), "--only", "mutor/arith/seed0", "--no-progress",
           "--set", "budget.amount=40", "--set", "checkpoint_every_steps=1"]
    procs = [subprocess.Popen(cmd, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, cwd=ROOT) for _ in range(2)]
    outs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [e[-2000:] for _, e in outs]
    assert sum("summary: mutor seed 0: 40 steps" in o for o, _ in outs) == 1  # trained once
    log = log_of(tmp_path / "r/tinytab/tiny/mutor--arith--seed0/result.json")
    assert [s["step"] for s in log] == list(range(1, 41))


def test_a_second_train_on_a_busy_folder_refuses_with_one_line(tmp_path):
    from mutorbench.fsio import run_folder_lock

    cfg = tiny_run(tmp_path, "ntp")
    with run_folder_lock(tmp_path / "ntp-seed0", wait=False):
        with pytest.raises(ValueError, match="in use by another mutor-bench process"):
            train(cfg, progress=False)


# 7. a bad evaluation split fails before the first step
def test_an_eval_prompt_longer_than_the_positions_fails_before_training(tmp_path):
    data = tmp_path / "data"
    _jsonl_data(data, ["abc", "tree"] * 12)
    long_prompt = " ".join(f"w{i}q" for i in range(2100))
    (data / "test.jsonl").write_text(json.dumps({"prompt": long_prompt, "answer": " a"}) + "\n")
    cfg = tiny_run(tmp_path / "runs", "ntp", "task.name=jsonl", f"task.local_path={data}",
                   "task.metric=exact")
    with pytest.raises(ValueError, match="split 'test': example 0 has a .*-token prompt; with "
                                         "eval.max_new_tokens=12 it needs .* the model has 2048"):
        train(cfg, progress=False)
    assert not (tmp_path / "runs").exists()  # no step ran, nothing was written


# 8. disk full
def test_disk_full_during_a_checkpoint_is_one_line_and_resumable(tmp_path, monkeypatch, capsys):
    sets = ["checkpoint_every_steps=5", "budget.kind=steps", "budget.amount=10"]
    full = train(tiny_run(tmp_path / "full", "ntp", *sets), progress=False)
    out = tmp_path / "runs"
    argv = ["train", "--no-progress", *[x for s in [*TINY_SETS, f"output_dir={out}", *sets]
                                      for x in ("--set", s)]]
    real_save, calls = torch.save, []

    def save_until_full(obj, f, *a, **kw):
        calls.append(1)
        if len(calls) == 1:
            return real_save(obj, f, *a, **kw)
        f.write(b"x" * 4096)  # part of the file, then the disk is full
        raise RuntimeError("PytorchStreamWriter failed") from OSError(errno.ENOSPC,
                                                                        os.strerror(errno.ENOSPC))

    monkeypatch.setattr(ckpt_module.torch, "save", save_until_full)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no space left on device (ENOSPC) while writing" in err[0]
    run_dir = out / "ntp-seed0"
    assert not list(run_dir.glob("*.tmp")) and not (run_dir / "result.json").exists()
    assert ckpt_module.read_checkpoint(run_dir / "checkpoint.pt")["state"]["step"] == 5
    monkeypatch.setattr(ckpt_module.torch, "save", real_save)  # space freed
    assert main(argv) == 0
    assert [s["loss"] for s in log_of(run_dir / "result.json")] == pytest.approx(
        [s["loss"] for s in log_of(full)], abs=1e-6)


def test_ctrl_c_inside_the_checkpoint_writer_is_an_interrupt(tmp_path, monkeypatch, capsys):
    """Ctrl-C landing inside torch.save surfaces as a RuntimeError whose context is the
    KeyboardInterrupt (the zip writer's cleanup fails after it): still exit 130 with the one
    line, the half-written file removed and the previous checkpoint valid."""
    out = tmp_path / "runs"
    argv = ["train", "--no-progress", *[x for s in [*TINY_SETS, f"output_dir={out}",
                                                    "checkpoint_every_steps=5", "budget.kind=steps",
                                                    "budget.amount=10"] for x in ("--set", s)]]
    real_save, calls = torch.save, []

    def interrupted(obj, f, *a, **kw):
        calls.append(1)
        if len(calls) == 1:
            return real_save(obj, f, *a, **kw)
        f.write(b"x" * 64)
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:  # what torch's writer does next: its own error, in context
            raise RuntimeError("[enforce fail at inline_container.cc] unexpected pos") from None

    monkeypatch.setattr(ckpt_module.torch, "save", interrupted)
    assert main(argv) == 130
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["mutor-bench: interrupted; rerun the same command to resume from the last "
                   "checkpoint"]
    run_dir = out / "ntp-seed0"
    assert not list(run_dir.glob("*.tmp"))
    assert ckpt_module.read_checkpoint(run_dir / "checkpoint.pt")["state"]["step"] == 5


TINY_SETS = ["task.train_examples=48", "task.eval_examples=4", "model.hidden_size=32",
             "batch.micro_batch_size=4", "eval.max_new_tokens=12", "tokenizer.vocab_size=300"]


def test_disk_full_on_a_real_small_filesystem(tmp_path, capsys):
    """A 1.5-checkpoint tmpfs: the first checkpoint fits, its replacement does not (needs root)."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    probe = train(tiny_run(tmp_path / "probe", "ntp", "budget.kind=steps", "budget.amount=5",
                           "checkpoint_every_steps=5"), progress=False)
    size = (probe.parent / "checkpoint.pt").stat().st_size
    if subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={int(size * 1.6)}", "tmpfs", str(mnt)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        argv = ["train", "--no-progress", *[x for s in [*TINY_SETS, f"output_dir={mnt}",
                                                        "checkpoint_every_steps=5",
                                                        "budget.kind=steps", "budget.amount=10"]
                                          for x in ("--set", s)]]
        assert main(argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "no space left on device" in err[0], err
        assert not list((mnt / "ntp-seed0").glob("*.tmp"))
        assert ckpt_module.read_checkpoint(mnt / "ntp-seed0" / "checkpoint.pt")["state"]["step"] == 5
        subprocess.run(["mount", "-o", "remount,size=64m", str(mnt)], check=True)
        assert main(argv) == 0
    finally:  # a lazy unmount if something still holds a file there: never leave a mount
        if subprocess.run(["umount", str(mnt)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


# 9. SIGINT and SIGTERM: tests/test_interrupts.py


# 10. minor: modes, duplicates, empty answers, missing folders
def test_result_files_get_the_same_mode_as_other_files(tmp_path):
    path = minimal_result(tmp_path / "x" / "result.json")
    (tmp_path / "x" / "other.txt").write_text("x")
    assert stat.S_IMODE(path.stat().st_mode) == stat.S_IMODE((tmp_path / "x" / "other.txt")
                                                              .stat().st_mode)


def test_duplicate_row_ids_and_golden_keys_are_errors(tmp_path):
    from mutorbench.spec import load_spec

    (tmp_path / "dup.yaml").write_text(TINY_SPEC.replace("table: tinytab", "table: dup")
                                       .replace("{id: multi_token,", "{id: ntp,"))
    with pytest.raises(ValueError, match="row ids must be unique; repeated: ntp"):
        load_spec("dup", tmp_path)
    minimal_result(tmp_path / "r" / "x" / "result.json")
    (tmp_path / "g").mkdir()
    for name in ("a", "b"):
        (tmp_path / "g" / f"{name}.yaml").write_text(
            "cells:\n  tinytab|tiny|ntp/arith|seed0: {values: {accuracy: 50.0}}\n")
    with pytest.raises(ValueError, match="golden cell tinytab.* is in both"):
        check(tmp_path / "r", tmp_path / "g")


def test_gsm8k_local_copy_refuses_an_empty_answer(tmp_path):
    (tmp_path / "train.jsonl").write_text(json.dumps({"question": "q", "answer": " "}) + "\n")
    with pytest.raises(ValueError, match="row 0: empty answer"):
        GSM8KTask(local_path=str(tmp_path)).texts("train")


# 11. a split is read from exactly its own files
def test_a_split_is_never_a_prefix_match(tmp_path):
    row = {"question": "q", "answer": "#### 1"}
    for name, n in (("test.jsonl", 3), ("test_socratic.jsonl", 5), ("train.jsonl", 2)):
        (tmp_path / name).write_text((json.dumps(row) + "\n") * n)
    assert len(GSM8KTask(local_path=str(tmp_path)).texts("test")) == 3
    aqua = {"question": "q", "options": ["A)1", "B)2"], "rationale": "r", "correct": "A"}
    (tmp_path / "aqua").mkdir()
    for name, n in (("test.json", 4), ("test.tok.json", 6), ("dev.json", 2)):
        (tmp_path / "aqua" / name).write_text((json.dumps(aqua) + "\n") * n)
    task = AquaTask(local_path=str(tmp_path / "aqua"))
    assert len(task.texts("test")) == 4 and len(task.texts("validation")) == 2


def test_ambiguous_and_explicit_split_files(tmp_path):
    row = {"question": "q", "answer": "#### 1"}
    for folder, n in (("main", 2), ("socratic", 3)):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "test.jsonl").write_text((json.dumps(row) + "\n") * n)
    assert len(GSM8KTask(local_path=str(tmp_path)).texts("test")) == 2  # the config's folder
    (tmp_path / "other" / "x").mkdir(parents=True)
    for folder in ("a", "b"):
        (tmp_path / "other" / "x" / folder).mkdir()
        (tmp_path / "other" / "x" / folder / "test.jsonl").write_text(json.dumps(row) + "\n")
    with pytest.raises(ValueError, match="found in several folders .*task.files.test"):
        GSM8KTask(local_path=str(tmp_path / "other")).texts("test")
    explicit = GSM8KTask(files={"test": str(tmp_path / "socratic" / "test.jsonl")})
    assert len(explicit.texts("test")) == 3


# 12. eval records and hashes exactly what it scores
def test_eval_scores_counts_and_hashes_every_example(tmp_path):
    from tests.test_eval_cli import exported_mutor_checkpoint

    ckpt = exported_mutor_checkpoint(tmp_path / "ckpt")
    data = tmp_path / "data"
    data.mkdir()
    (data / "test.jsonl").write_text("".join(json.dumps(
        {"prompt": f"Question: what is {i} plus one, written out in full?\n\nAnswer:",
         "answer": f" {i + 1}"}) + "\n" for i in range(6)))
    base = ["eval", "--model", str(ckpt), "--task", "jsonl", "--set", f"task.local_path={data}",
            "--set", "eval.max_new_tokens=3", "--set", "task.max_length=5"]
    assert main([*base, "--set", f"output_dir={tmp_path / 'all'}"]) == 0
    r = load_result(tmp_path / "all" / "eval-jsonl-ckpt" / "result.json")
    log = tmp_path / "all" / "eval-jsonl-ckpt" / "generations" / "step0000000-test.jsonl"
    assert r.data.counts["test"] == {"split": "test", "total": 6, "kept": 6, "limit": None}
    assert len(log.read_text().splitlines()) == 6  # max_length never shrinks an evaluation
    assert main([*base, "--limit", "2", "--set", f"output_dir={tmp_path / 'two'}"]) == 0
    two = load_result(tmp_path / "two" / "eval-jsonl-ckpt" / "result.json")
    assert two.data.counts["test"] == {"split": "test", "total": 6, "kept": 2, "limit": 2}
    assert two.data.content_hash != r.data.content_hash


# 13. a star graph evaluates from a test file alone, in either published naming
def test_star_graph_reads_a_test_file_alone_in_the_older_naming(tmp_path):
    (tmp_path / "deg_3_path_3_nodes_50_reverse_False_2_test.txt").write_text(
        "40,45|41,20|20,12|1,8|41,40|41,1/41,8=41,1,8\n32,19|10,32|10,1|10,15|15,7|1,3/10,7=10,15,7\n")
    task = StarGraphTask(degree=3, path_length=3, num_nodes=50, eval_examples=2,
                         local_path=str(tmp_path))
    assert task.texts("test")[0] == ("40,45|41,20|20,12|1,8|41,40|41,1/41,8=", "41,1,8")
    with pytest.raises(ValueError, match="train_.*not found"):
        task.texts("train")  # only when it is asked for
    with pytest.raises(ValueError, match=r"present: .*_reverse_False_2_test.txt \(set "
                                         r"task.eval_examples to its N\)"):
        StarGraphTask(degree=3, path_length=3, num_nodes=50, eval_examples=7,
                      local_path=str(tmp_path)).texts("test")


# 14. the task's own generation settings; AQuA phrasing; DialogSum's three references
def test_eval_defaults_take_the_tasks_generation_length():
    assert load_config(None, ["task.name=gsm8k"]).eval.max_new_tokens == 512
    assert load_config(None, ["task.name=math500"]).eval.max_new_tokens == 748
    assert load_config(None, ["task.name=gsm8k", "eval.max_new_tokens=64"]).eval.max_new_tokens == 64


@pytest.mark.parametrize("text,letter", [
    ("so x = 4.\nAnswer : A", "A"), ("Answer D", "D"), ("... Option B", "B"),
    ("Correct Option: C", "C"), ("Ans: E", "E"), ("The answer is (B).", "B"),
    ("Answer choice (A) can never be true, so the answer is C", "C"), ("no letter here", None),
])
def test_aqua_fallback_phrases(text, letter):
    from mutorbench.evaluation.answers import aqua_choice

    assert aqua_choice(text) == letter


def test_dialogsum_authors_test_file_has_three_references_per_dialogue(tmp_path):
    rows = [{"fname": f"test_{i}", "dialogue": f"#Person1#: hi {i}", "summary1": f"a{i}",
             "summary2": f"b{i}", "summary3": f"c{i}", "topic1": "t"} for i in range(2)]
    (tmp_path / "dialogsum.test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "dialogsum.dev.jsonl").write_text(json.dumps(
        {"fname": "dev_0", "dialogue": "#Person1#: yo", "summary": "s", "topic": "t"}) + "\n")
    task = DialogSumTask(local_path=str(tmp_path))
    assert [a for _, a in task.texts("test")] == [" a0", " b0", " c0", " a1", " b1", " c1"]
    assert len(task.texts("validation")) == 1


def test_retired_runs_are_not_results(tmp_path):
    minimal_result(tmp_path / "r" / "t" / "tiny" / "run" / "result.json")
    minimal_result(tmp_path / "r" / "t" / "tiny" / ".retired" / "run.1" / "result.json")
    (tmp_path / "g").mkdir()
    (tmp_path / "g" / "t.yaml").write_text(
        "cells:\n  tinytab|tiny|ntp/arith|seed0: {values: {accuracy: 50.0}}\n")
    ok, rows = check(tmp_path / "r", tmp_path / "g")
    assert ok and len(rows) == 1
    shutil.rmtree(tmp_path / "r" / "t" / "tiny" / ".retired")


def _tree_in_child(cfg):
    from mutorbench.train.config import config_tree

    return config_tree(cfg)


def test_a_spawned_worker_stores_the_whole_config():
    """`run --jobs N` trains cells in spawned processes, which unpickle the config: the stored
    config must still hold every section's own fields (it once kept only the base ones, without
    d_max, a or data_seed, so results did not say what ran and reuse never matched)."""
    from multiprocessing import get_context

    from mutorbench.train.config import config_tree, parse_config

    cfg = parse_config({"task": {"name": "gsm8k-gen", "data_seed": 3},
                        "method": {"id": "mutor", "d_max": 3, "a": 0.4}})
    with get_context("spawn").Pool(1) as pool:
        child = pool.apply(_tree_in_child, (cfg,))
    assert child == config_tree(cfg)
    assert child["method"]["d_max"] == 3 and child["task"]["data_seed"] == 3


def test_a_result_whose_config_was_filled_by_defaults_is_never_reused(tmp_path):
    """An incomplete stored config (an older version's, or one a worker wrote without the
    sections' own fields) parses with defaults and could then look like another cell: the
    reuse index leaves it out."""
    import json

    from mutorbench.bench.reuse import index_results, training_key
    from mutorbench.train.config import config_tree, parse_config

    full = config_tree(parse_config({"task": {"name": "gsm8k-gen", "train_examples": 24},
                                     "method": {"id": "mutor", "d_max": 3, "a": 0.5}}))
    for name, tree in (("complete", full),
                       ("dropped", {**full, "method": {k: v for k, v in full["method"].items()
                                                       if k not in ("d_min", "d_max", "a")}})):
        run = tmp_path / "t" / "tiny" / name
        run.mkdir(parents=True)
        (run / "result.json").write_text(json.dumps({"kind": "train", "config": tree}))
    index = index_results(tmp_path)
    assert list(index.values()) == [tmp_path / "t" / "tiny" / "complete" / "result.json"]
    assert training_key(full) in index
    as_defaults = {**full, "method": {**full["method"], "d_min": 1, "d_max": 4, "a": 0.3}}
    assert training_key(as_defaults) not in index  # what the dropped file would have claimed
