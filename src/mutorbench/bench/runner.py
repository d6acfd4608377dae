"""`mutor-bench run TABLE`: every cell of a table spec, resumable, shardable, or just listed."""

from __future__ import annotations

import math
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path

import yaml

from mutorbench.bench.reuse import copy_result, index_results, training_key
from mutorbench.bench.spec import SPEC_DIR, expand, load_spec, parse_shard
from mutorbench.results import load_result
from mutorbench.train.config import config_tree
from mutorbench.train.loop import run_dir_of, train


def run_table(table: str, *, scale: str, only: str | None = None, shard: str | None = None,
              dry_run: bool = False, overrides: list[str] = (), spec_root: str | Path = SPEC_DIR,
              output_root: str = "results", progress: bool = True,
              reports_root: str | None = "reports", jobs: int | None = None,
              reuse: bool = True) -> list[Path]:
    spec = load_spec(table, spec_root)
    cells = expand(spec, scale, overrides=list(overrides), only=only, shard=parse_shard(shard),
                   output_root=output_root)
    if dry_run:
        for cell in cells:
            print(f"--- {cell.id} [{cell.status}]")
            if cell.config is not None:
                print(yaml.safe_dump(config_tree(cell.config), sort_keys=False).rstrip())
        print(f"{len(cells)} cells ({sum(c.status == 'run' for c in cells)} to run); dry run: "
              "nothing was run")
        return []
    jobs = jobs or spec.scales[scale].jobs
    finished = index_results(output_root) if reuse else {}
    done, pending, ran, reused, not_run = [], [], 0, 0, 0
    for n, cell in enumerate(cells, 1):
        head = f"[{n}/{len(cells)}] {spec.table} {scale} {cell.id}"
        if cell.config is None:
            not_run += 1
            print(f"{head}: not run")
            continue
        result = run_dir_of(cell.config) / "result.json"
        done.append(result)
        source = None if result.exists() else finished.get(training_key(config_tree(cell.config)))
        if result.exists():
            print(f"{head}: finished earlier, skipped")
        elif source is not None:
            copy_result(cell.config, source, result)
            reused += 1
            print(f"{head}: same training config as {source.parent}, result reused")
        elif jobs == 1:
            print(f"{head}: training")
            train(cell.config, progress=progress)
            ran += 1
        else:
            pending.append((head, cell.config))
    if pending:
        _train_in_parallel(pending, jobs)
        ran += len(pending)
    print(f"\n{spec.table} ({scale}): {ran} cells trained, {reused} reused from other tables, "
          f"{len(done) - ran - reused} already finished, {not_run} not run")
    for path in done:
        r = load_result(path)
        values = ", ".join(f"{k} {v:.2f}" for k, v in r.metrics.selected.values.items())
        print(f"  {r.cell['row']}/{r.cell['column']}/seed{r.seed}: {values}")
    if reports_root is not None:
        from mutorbench.report.tables import write_report

        paths = write_report(table, scale, spec_root=spec_root, results_root=output_root,
                             reports_root=reports_root)
        print("\n" + paths["md"].read_text() + "written: " + ", ".join(map(str, paths.values())))
    return done


def _exit_with_parent(parent: int) -> None:
    """Worker initializer: stop when the parent is gone (killed by SIGTERM or SIGKILL, which
    leaves a process pool's workers running otherwise), checked every second."""
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def eta_seconds(durations: list[float], remaining: int, jobs: int) -> float:
    """Cells left, in waves of ``jobs``, at the mean time of the finished ones. (Elapsed time per
    finished cell would count the first cells of a parallel run ``jobs`` times over.)"""
    return sum(durations) / len(durations) * math.ceil(remaining / jobs) if remaining else 0.0


def _train_quietly(cfg) -> tuple[Path, float]:
    start = time.perf_counter()
    return train(cfg, progress=False), time.perf_counter() - start


def _train_in_parallel(pending: list[tuple[str, object]], jobs: int) -> None:
    """Cells in ``jobs`` worker processes (spawned: no forked torch state), one line per cell.

    Shared tiny bases are built first, here, so that workers never race to build the same one.
    Each cell's ``threads`` comes from its config, so results match a serial run's.
    """
    from mutorbench.models.pretrain import base_dir, ensure_base

    for cfg in {base_dir(c): c for _, c in pending if c.model.pretrain}.values():
        ensure_base(cfg)
    print(f"training {len(pending)} cells in {jobs} parallel processes", flush=True)
    start = time.perf_counter()
    durations: list[float] = []
    with ProcessPoolExecutor(jobs, mp_context=get_context("spawn"), initializer=_exit_with_parent,
                             initargs=(os.getpid(),)) as pool:
        futures = {pool.submit(_train_quietly, cfg): head for head, cfg in pending}
        for k, fut in enumerate(as_completed(futures), 1):
            path, seconds = fut.result()  # a failed cell stops the table with its own error
            values = ", ".join(f"{m} {v:.2f}" for m, v in
                               load_result(path).metrics.selected.values.items())
            elapsed = time.perf_counter() - start
            durations.append(seconds)
            eta = eta_seconds(durations, len(pending) - k, jobs)
            print(f"{futures[fut]}: done in {seconds:.0f}s: {values}  [{k}/{len(pending)} cells, "
                  f"{elapsed / 60:.1f} min elapsed, ETA {eta / 60:.1f} min]", flush=True)
