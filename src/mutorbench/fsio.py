"""File-system helpers every writer and reader shares: one-line OS errors, text reads that name
the file, atomic writes with the usual file mode, the one-writer lock of a run folder, and a
file's sha256."""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def os_error_message(err: OSError, doing: str) -> str:
    """'no space left on device while writing results/x/checkpoint.pt' (errno name included)."""
    reason = (err.strerror or str(err)).lower()
    name = errno.errorcode.get(err.errno, "") if err.errno else ""
    return f"{reason}{f' ({name})' if name else ''} while {doing}"


def read_text(path: str | Path, what: str = "file") -> str:
    """A UTF-8 text file, or one error naming it (missing, a directory, not UTF-8, unreadable)."""
    path = Path(path)
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValueError(f"{what} not found: {path}") from None
    except IsADirectoryError:
        raise ValueError(f"{path}: is a directory, expected a {what}") from None
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}: not UTF-8 text (byte {err.start}: {err.reason})") from None
    except OSError as err:
        raise ValueError(os_error_message(err, f"reading {path}")) from None


def _file_mode() -> int:
    """0666 less the umask: what open() gives every other file we write (mkstemp gives 0600)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write beside ``path`` and rename into place: readers see the old file or the new one."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """``atomic_write_text`` for bytes (figures)."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as err:
        raise ValueError(os_error_message(err, f"writing {path}")) from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, _file_mode())
        os.replace(tmp, path)
    except BaseException as err:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(err, OSError):
            raise ValueError(os_error_message(err, f"writing {path}")) from None
        raise
    return path


class RunLocked(ValueError):
    """Another process holds the run folder."""


@contextmanager
def run_folder_lock(run_dir: str | Path, *, wait: bool, on_wait=None) -> Iterator[Path]:
    """Hold an advisory lock (flock) on the run folder itself for the whole run.

    Locking the directory creates no file in it. ``wait``: block until the holder is done
    (``on_wait`` is called once first); otherwise refuse with one line. If the body fails, the
    folders this call created are removed again when still empty (nothing half-made is left).
    """
    run_dir = Path(run_dir)
    created = [p for p in (run_dir, *run_dir.parents) if not p.exists()]
    while True:
        fd = _lock(run_dir, wait=wait, on_wait=on_wait)
        try:
            same = os.fstat(fd).st_ino == os.stat(run_dir).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)  # the holder removed the folder we waited on: lock the one there now
        on_wait = None
    try:
        yield run_dir
    except BaseException:
        for folder in created:  # innermost first; a folder with anything in it stays
            try:
                folder.rmdir()
            except OSError:
                break
        raise
    finally:
        os.close(fd)  # releases the lock


def _lock(run_dir: Path, *, wait: bool, on_wait) -> int:
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(run_dir, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as err:
        raise ValueError(os_error_message(err, f"creating {run_dir}")) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        if not wait:
            os.close(fd)
            raise RunLocked(f"{run_dir} is in use by another mutor-bench process; wait for it "
                            "to finish or choose another output_dir/run_name") from None
        if on_wait is not None:
            on_wait()
        fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def append_line(path: str | Path, line: str) -> None:
    """Append one line (a step's log record); an OS error is one line naming the file."""
    try:
        with Path(path).open("a", encoding="utf-8") as f:
            f.write(line + "\n")
    except OSError as err:
        raise ValueError(os_error_message(err, f"writing {path}")) from None


def file_sha256(path: str | Path) -> str:
    """sha256 of a file, read in chunks (ADM's reference batch is 2 GB)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 24), b""):
            h.update(chunk)
    return h.hexdigest()
