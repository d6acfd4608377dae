"""Worker processes for `run --jobs N` that stop with the runner, cleanly.

Without this, a process pool keeps going when its runner stops: an interrupted or failed table
waited for every queued cell to train, and a killed runner left its workers running. Here the
runner's stop (Ctrl-C, SIGTERM, a failed cell, or its death) drops the queued cells and makes
each busy worker stop its cell as Ctrl-C would (the checkpoint being written is removed)."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from multiprocessing import get_context

from mutorbench.interrupts import Terminated

_running = False  # a cell is being trained in this worker
_stopping = False  # the runner stopped or is gone: no cell starts in this worker any more


@contextmanager
def worker_pool(jobs: int) -> Iterator[ProcessPoolExecutor]:
    """Spawned workers (no forked torch state). Submit with ``submit`` so they can be stopped."""
    context = get_context("spawn")
    stop = context.Event()
    pool = ProcessPoolExecutor(jobs, mp_context=context, initializer=_start_worker,
                               initargs=(os.getpid(), stop))
    try:
        yield pool
    except BaseException:
        stop.set()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def submit(pool: ProcessPoolExecutor, fn, *args) -> Future:
    return pool.submit(_run_cell, fn, *args)


def _run_cell(fn, *args):
    global _running
    if _stopping:  # queued before the stop reached the pool
        raise KeyboardInterrupt
    _running = True
    try:
        return fn(*args)
    finally:
        _running = False


def _on_signal(signum, frame) -> None:
    """A signal stops the cell being trained and any after it; an idle worker is ended by its
    runner."""
    global _stopping
    _stopping = True
    if _running:
        raise Terminated if signum == signal.SIGTERM else KeyboardInterrupt


def _start_worker(parent: int, stop) -> None:
    # set, not inherited: a runner started in the background has SIGINT ignored
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)

    def watch() -> None:  # checked every second
        while os.getppid() == parent and not stop.wait(1.0):
            pass
        # a real signal, so that a blocked write (a full stdout pipe) is interrupted too
        signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)
        if os.getppid() != parent:  # nobody will end this worker: end it once its cell stopped
            deadline = time.monotonic() + 30
            while _running and time.monotonic() < deadline:
                time.sleep(0.1)
            os._exit(1)

    threading.Thread(target=watch, daemon=True).start()
