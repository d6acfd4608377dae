"""Stopping a run cleanly. Ctrl-C (SIGINT) and SIGTERM (`kill`, a cluster scheduler's
pre-emption) both end training at a safe point: the checkpoint being written is removed, the
previous one stays valid, and rerunning the same command resumes from it."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where Python raises KeyboardInterrupt for SIGINT: one clean-up path."""


def raise_terminated(signum, frame) -> None:
    raise Terminated


@contextmanager
def stop_cleanly_on_sigterm() -> Iterator[None]:
    """SIGTERM raises ``Terminated`` while the body runs. A handler set by someone else (or an
    inherited SIG_IGN, as under `nohup`) is kept; outside the main thread nothing changes."""
    if threading.current_thread() is not threading.main_thread() \
            or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        yield
        return
    signal.signal(signal.SIGTERM, raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)

