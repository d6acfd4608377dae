"""Data parallel on CPU (torchrun, gloo) and a killed run, each in real subprocesses."""

import os
import signal
import subprocess
import sys
import time

import pytest

from mutorbench.train.loop import train
from tests.runs import BASE, log_of, tiny_run

ENV = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}


def cli_sets(out, method, *sets):
    extra = ["method.id=" + method] + (["method.d_max=3"] if method == "mutor" else [])
    argv = []
    for s in [*BASE, f"output_dir={out}", *extra, *sets]:
        argv += ["--set", s]
    return argv


@pytest.mark.parametrize("method,parallel", [("ntp", "ddp"), ("mutor", "ddp"), ("mutor", "fsdp")])
def test_two_processes_match_one_process(tmp_path, method, parallel):
    single = train(tiny_run(tmp_path / "one", method, "threads=1"), progress=False)
    # same global batch of 4: 2 processes x micro-batch 2
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           "-m", "mutorbench.cli", "train", "--no-progress",
           *cli_sets(tmp_path / "two", method, "batch.micro_batch_size=2", "threads=1",
                     f"parallel={parallel}")]
    proc = subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    run_dir = tmp_path / "two" / f"{method}-seed0"
    assert sorted(p.name for p in run_dir.iterdir()) == [
        "checkpoint.pt", "generations", "log.jsonl", "result.json"]
    assert len(list((run_dir / "generations").iterdir())) == 2  # one per epoch end, no duplicates
    two, one = log_of(run_dir / "result.json"), log_of(single)
    assert [s["step"] for s in two] == list(range(1, 25))  # one writer: no duplicated lines
    assert max(abs(a["loss"] - b["loss"]) for a, b in zip(two, one)) <= 1e-4
    for part in ("loss_regular", "loss_register"):
        if part in one[0]:
            assert max(abs(a[part] - b[part]) for a, b in zip(two, one)) <= 1e-4
    assert proc.stdout.count("summary:") == 1  # rank 0 alone reports
    from mutorbench.results import load_result

    assert load_result(run_dir / "result.json").metrics == load_result(single).metrics


def test_gradient_accumulation_matches_one_big_micro_batch(tmp_path):
    big = train(tiny_run(tmp_path / "a", "mutor"), progress=False)
    accum = train(tiny_run(tmp_path / "b", "mutor", "batch.micro_batch_size=2",
                           "batch.grad_accumulation=2"), progress=False)
    assert max(abs(a["loss"] - b["loss"]) for a, b in zip(log_of(big), log_of(accum))) <= 1e-5


def test_killed_run_leaves_no_result(tmp_path):
    cmd = [sys.executable, "-m", "mutorbench.cli", "train", "--no-progress",
           *cli_sets(tmp_path, "mutor", "budget.amount=50", "checkpoint_every_steps=2")]
    proc = subprocess.Popen(cmd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    run_dir = tmp_path / "mutor-seed0"
    deadline = time.time() + 120
    while not (run_dir / "checkpoint.pt").exists() and time.time() < deadline:
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (run_dir / "result.json").exists()
    import torch

    # the last complete checkpoint is intact even if the kill hit a save (that leaves only a .tmp)
    assert torch.load(run_dir / "checkpoint.pt", weights_only=False)["state"]["step"] >= 2


def test_sharded_run_killed_and_resumed_matches_one_process(tmp_path):
    single = train(tiny_run(tmp_path / "one", "mutor", "threads=1"), progress=False)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           "-m", "mutorbench.cli", "train", "--no-progress",
           *cli_sets(tmp_path / "two", "mutor", "batch.micro_batch_size=2", "threads=1",
                     "parallel=fsdp", "checkpoint_every_steps=5")]
    run_dir = tmp_path / "two" / "mutor-seed0"
    proc = subprocess.Popen(cmd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not (run_dir / "checkpoint.pt").exists() and time.time() < deadline:
        time.sleep(0.1)
    # the launcher and both workers (elastic starts workers in sessions of their own)
    subprocess.run(["pkill", "-KILL", "-f", str(tmp_path / "two")], check=False)
    proc.wait()
    deadline = time.time() + 30
    while subprocess.run(["pgrep", "-f", str(tmp_path / "two")], capture_output=True).returncode == 0:
        assert time.time() < deadline, "workers survived SIGKILL"
        time.sleep(0.1)
    assert not (run_dir / "result.json").exists()
    import torch

    stopped_at = torch.load(run_dir / "checkpoint.pt", weights_only=False)["state"]["step"]
    assert 5 <= stopped_at < 24  # killed mid-run: the second launch really resumes
    done = subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    two, one = log_of(run_dir / "result.json"), log_of(single)
    assert [s["step"] for s in two] == list(range(1, 25))
    assert max(abs(a["loss"] - b["loss"]) for a, b in zip(two, one)) <= 1e-4
