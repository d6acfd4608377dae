"""Ctrl-C and SIGTERM stop a run cleanly (one line, exit 130 / 143, no half-written file) and
its last checkpoint stays valid (resuming from one: test_integrity); `run --jobs N` drops its queued cells and its workers stop with it."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mutorbench.train import checkpoint as ckpt_module
from tests.test_tables import TINY_SPEC

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
       "TRANSFORMERS_OFFLINE": "1", "PYTHONPATH": str(ROOT / "src")}
TINY_SETS = ["task.train_examples=48", "task.eval_examples=4", "model.hidden_size=32",
             "batch.micro_batch_size=4", "eval.max_new_tokens=12", "tokenizer.vocab_size=300"]
STOPS = [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")]


def _as_at_a_terminal() -> None:
    """A test runner started in the background has SIGINT ignored, a child inherits that, and
    Python then never raises KeyboardInterrupt: give the child a terminal's default."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start(cmd: list[str]) -> subprocess.Popen:
    return subprocess.Popen(cmd, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, preexec_fn=_as_at_a_terminal, start_new_session=True)


def _lines(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


def _finish(proc: subprocess.Popen, timeout: float) -> str:
    try:
        return proc.communicate(timeout=timeout)[1]
    finally:
        os.killpg(proc.pid, signal.SIGKILL) if proc.poll() is None else None  # never left behind


@pytest.mark.parametrize("signum, rc, word", STOPS)
def test_a_stopped_run_exits_with_one_line_and_a_valid_checkpoint(tmp_path, signum, rc, word):
    out = tmp_path / "out"
    sets = [*TINY_SETS, f"output_dir={out}", "checkpoint_every_steps=1", "budget.kind=steps",
            "budget.amount=20000"]
    proc = _start([sys.executable, "-m", "mutorbench.cli", "train", "--no-progress",
                   *[x for s in sets for x in ("--set", s)]])
    log = out / "ntp-seed0" / "log.jsonl"
    deadline = time.time() + 300
    while _lines(log) < 5:
        assert time.time() < deadline and proc.poll() is None, "the run never got going"
        time.sleep(0.2)
    seen = _lines(log)
    proc.send_signal(signum)
    err = _finish(proc, 120)
    assert proc.returncode == rc, err[-2000:]
    assert "Traceback" not in err and err.strip().splitlines() == [
        f"mutor-bench: {word}; rerun the same command to resume from the last checkpoint"]
    assert not list((out / "ntp-seed0").glob("*.tmp"))
    step = ckpt_module.read_checkpoint(out / "ntp-seed0" / "checkpoint.pt")["state"]["step"]
    # the step logged last may have been stopped before its checkpoint was written
    assert step >= seen - 1 and _lines(log) >= step


def _parallel_table(tmp_path) -> subprocess.Popen:
    """Four cells of 100,000 steps each in two workers: two are queued when it is stopped."""
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "tinytab.yaml").write_text(TINY_SPEC)
    return _start([sys.executable, "-m", "mutorbench.cli", "run", "tinytab", "--scale", "tiny",
                   "--specs", str(tmp_path / "specs"), "--results", str(tmp_path / "r"),
                   "--reports", str(tmp_path / "rep"), "--jobs", "2", "--no-progress",
                   "--set", "budget.amount=100000", "--set", "checkpoint_every_steps=1"])


def _workers(proc: subprocess.Popen) -> list[int]:
    out = subprocess.run(["pgrep", "-f", "-P", str(proc.pid), "spawn_main"],
                         capture_output=True, text=True, check=False).stdout
    return [int(p) for p in out.split()]


def _wait_until_training(tmp_path, proc) -> list[int]:
    deadline = time.time() + 180
    while len(list((tmp_path / "r").glob("tinytab/tiny/*/checkpoint.pt"))) < 2:
        assert time.time() < deadline and proc.poll() is None, "the workers never trained"
        time.sleep(0.2)
    return _workers(proc)


def _gone(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except FileNotFoundError:
        return True


@pytest.mark.parametrize("signum, rc, word", STOPS)
def test_a_stopped_parallel_table_drops_its_queue_and_stops_its_workers(tmp_path, signum, rc,
                                                                        word):
    """SIGINT as Ctrl-C sends it (to the whole process group), SIGTERM as `kill PID` (to the
    runner only): either way the busy workers stop at a safe point and no queued cell starts."""
    proc = _parallel_table(tmp_path)
    workers = _wait_until_training(tmp_path, proc)
    stopped = time.time()
    os.killpg(proc.pid, signum) if signum == signal.SIGINT else proc.send_signal(signum)
    err = _finish(proc, 120)
    assert proc.returncode == rc, err[-2000:]
    assert time.time() - stopped < 30  # not after the queued cells (100,000 steps each)
    assert "Traceback" not in err and err.strip().splitlines()[-1] == (
        f"mutor-bench: {word}; rerun the same command to resume from the last checkpoint")
    started = sorted(p.name for p in (tmp_path / "r" / "tinytab" / "tiny").iterdir()
                     if p.is_dir() and "seed" in p.name)
    assert started == ["ntp--arith--seed0", "ntp--arith--seed1"]
    assert not list((tmp_path / "r").rglob("*.tmp"))
    assert all(_gone(p) for p in workers)


def test_parallel_workers_stop_when_the_runner_is_killed(tmp_path):
    proc = _parallel_table(tmp_path)
    workers = _wait_until_training(tmp_path, proc)
    os.kill(proc.pid, signal.SIGKILL)  # as `kill -9`, or a scheduler ending the job
    proc.wait()
    deadline = time.time() + 30
    while not all(_gone(p) for p in workers):
        assert time.time() < deadline, "pool workers outlived the runner"
        time.sleep(0.2)
    assert not list((tmp_path / "r").rglob("*.tmp"))  # they stopped as on Ctrl-C
    proc.communicate()
