"""Is a finished cell the requested cell? Its recorded config (all but where it is filed) and the
hashes of the data it read must equal the requested ones; otherwise `run` refuses with one line
rather than skip it, reuse it or average it with cells trained differently."""

from __future__ import annotations

import json
import time
from pathlib import Path

from mutorbench.fsio import os_error_message
from mutorbench.identity import changed_splits, describe, diff_keys, training_tree
from mutorbench.results import load_result
from mutorbench.train.config import config_tree

RETRY = "choose another --results root, or --retrain to move the old run aside and train again"


class DataHashes:
    """Hashes of the splits a cell reads, computed once per task config within one `run`."""

    def __init__(self):
        self._cache: dict[str, dict[str, str]] = {}

    def of(self, cfg) -> dict[str, str]:
        from mutorbench.tasks import build_task
        from mutorbench.tasks.base import split_hashes

        splits = ["train", *cfg.eval.splits]  # what the trainer hashes (train/loop.py)
        key = json.dumps([cfg.task.model_dump(mode="json"), splits], sort_keys=True)
        if key not in self._cache:
            self._cache[key] = split_hashes(build_task(cfg.task), splits)
        return self._cache[key]


def check_finished(cell_id: str, cfg, result_path: Path, hashes: DataHashes) -> None:
    """Refuse a finished result that was trained with another config or on other data."""
    r = load_result(result_path)
    old, new = training_tree(r.config), training_tree(config_tree(cfg))
    keys = diff_keys(old, new)
    if keys:
        raise ValueError(f"cell {cell_id}: {result_path} was trained with another config "
                         f"(recorded -> requested: {describe(keys, old, new)}); {RETRY}")
    recorded = r.data.split_hashes
    if recorded is None:
        raise ValueError(f"cell {cell_id}: {result_path} does not record the hashes of its data "
                         f"(an older mutor-bench wrote it), so it cannot be checked; {RETRY}")
    changed = changed_splits(recorded, hashes.of(cfg))
    if changed:
        raise ValueError(f"cell {cell_id}: the data of split {', '.join(changed)} changed since "
                         f"{result_path} was trained; {RETRY}")


def same_data(source: Path, cfg, hashes: DataHashes) -> bool:
    """Whether a finished result of another table read exactly this cell's data."""
    recorded = load_result(source).data.split_hashes
    return recorded is not None and not changed_splits(recorded, hashes.of(cfg))


def retire(run_dir: Path) -> Path:
    """Move a run folder aside, under ``.retired/`` beside it (never deleted); returns the new
    place. Held under the folder's lock, so a run still writing there is not moved."""
    from mutorbench.fsio import run_folder_lock

    stamp = time.strftime('%Y%m%dT%H%M%S')
    dest = run_dir.parent / ".retired" / f"{run_dir.name}.{stamp}"
    n = 1
    while dest.exists():
        n += 1
        dest = run_dir.parent / ".retired" / f"{run_dir.name}.{stamp}.{n}"
    with run_folder_lock(run_dir, wait=False):
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            run_dir.rename(dest)
        except OSError as err:
            raise ValueError(os_error_message(err, f"moving {run_dir} aside")) from None
    return dest
