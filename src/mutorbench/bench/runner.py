"""`mutor-bench run TABLE`: every cell of a table spec, resumable, shardable, or just listed."""

from __future__ import annotations

import math
import time
from concurrent.futures import as_completed
from pathlib import Path

import yaml

from mutorbench.bench.identity import DataHashes, check_finished, retire, same_data
from mutorbench.bench.pool import submit, worker_pool
from mutorbench.bench.reuse import copy_result, index_results, training_key
from mutorbench.bench.trivial import write_trivial_baselines
from mutorbench.results import load_result, result_path_of, train_run_dir
from mutorbench.spec import SPEC_DIR, expand, load_spec, parse_shard
from mutorbench.train.config import config_tree
from mutorbench.train.loop import train


def run_table(table: str, *, scale: str, only: str | None = None, shard: str | None = None,
              dry_run: bool = False, overrides: list[str] = (), spec_root: str | Path = SPEC_DIR,
              output_root: str = "results", progress: bool = True,
              reports_root: str | None = "reports", jobs: int | None = None,
              reuse: bool = True, retrain: bool = False) -> list[Path]:
    """``retrain``: the selected cells' folders are moved aside (never deleted) and trained again;
    otherwise a finished cell is skipped only if it was trained with exactly the requested
    config and data, and refused with one line if not."""
    spec = load_spec(table, spec_root)
    cells = expand(spec, scale, overrides=list(overrides), only=only, shard=parse_shard(shard),
                   output_root=output_root)
    if dry_run:
        _print_dry_run(cells)
        return []
    hashes = DataHashes()
    if not retrain:  # every refusal comes before any training
        for cell in cells:
            result = result_path_of(cell.config) if cell.config else None
            if result is not None and result.exists():
                check_finished(cell.id, cell.config, result, hashes)
    write_trivial_baselines(spec, scale, cells, output_root)  # cheap: generated columns only
    done, counts = _run_cells(spec, scale, cells, jobs=jobs or spec.scales[scale].jobs,
                              finished=index_results(output_root) if reuse and not retrain
                              else {}, retrain=retrain, hashes=hashes, progress=progress)
    earlier = len(done) - counts["ran"] - counts["reused"] - counts["shared"]
    shared = (f", {counts['shared']} read from another cell's run (the same training, another "
              "step)") if counts["shared"] else ""
    print(f"\n{spec.table} ({scale}): {counts['ran']} cells trained, {counts['reused']} reused "
          f"from other tables, {earlier} already finished, {counts['not_run']} not run{shared}")
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


def _print_dry_run(cells) -> None:
    for cell in cells:
        print(f"--- {cell.id} [{cell.status}]")
        if cell.config is not None:
            print(yaml.safe_dump(config_tree(cell.config), sort_keys=False).rstrip())
    print(f"{len(cells)} cells ({sum(c.status == 'run' for c in cells)} to run); dry run: "
          "nothing was run")


def _run_cells(spec, scale, cells, *, jobs, finished, retrain, hashes, progress):
    """Skip, reuse or train each cell (``jobs`` at once); the result paths and the counts.

    Cells of this table with one training config (they differ only in the step they report,
    identity.READING_KEYS) train once: the first trains, the others copy its result afterwards,
    each re-selected by its own rule."""
    done, pending, counts = [], [], {"ran": 0, "reused": 0, "shared": 0, "not_run": 0}
    here: dict[str, tuple[str, Path]] = {}  # training key -> (cell id, result) in this table
    shared = []  # (head, cell, the result it is read from)
    for n, cell in enumerate(cells, 1):
        head = f"[{n}/{len(cells)}] {spec.table} {scale} {cell.id}"
        if cell.config is None:
            counts["not_run"] += 1
            print(f"{head}: not run")
            continue
        run_dir = train_run_dir(cell.config)
        result = result_path_of(cell.config)
        done.append(result)
        if retrain and run_dir.exists():
            print(f"{head}: earlier run moved to {retire(run_dir)}")
        key = training_key(config_tree(cell.config))
        source = None if result.exists() else finished.get(key)
        if source is not None and not same_data(source, cell.config, hashes):
            source = None  # same config on other data: not the same cell
        if result.exists():
            print(f"{head}: finished earlier with the same config and data, skipped")
        elif key in here:
            shared.append((head, cell, here[key][1]))
            print(f"{head}: the same training as {here[key][0]}; read from that run when it is "
                  "done")
            continue
        elif source is not None:
            copy_result(cell.config, source, result)
            counts["reused"] += 1
            print(f"{head}: same training config as {source.parent}, result reused")
        elif jobs == 1:
            print(f"{head}: training")
            if train_cell(cell.id, cell.config, hashes, progress=progress)[1]:
                counts["ran"] += 1
            else:
                print(f"{head}: finished by another process meanwhile, same config and data")
        else:
            pending.append((head, cell.id, cell.config))
        here.setdefault(key, (cell.id, result))
    if pending:
        counts["ran"] += _train_in_parallel(pending, jobs)
    for head, cell, source in shared:
        copy_result(cell.config, source, result_path_of(cell.config))
        counts["shared"] += 1
        values = ", ".join(f"{k} {v:.2f}" for k, v in
                           load_result(result_path_of(cell.config)).metrics.selected.values.items())
        print(f"{head}: read from {source.parent} at this cell's step: {values}")
    return done, counts


def train_cell(cell_id: str, cfg, hashes: DataHashes | None = None, *,
               progress: bool = True) -> tuple[Path, bool]:
    """Train a cell; a second process on the same cell waits for the first one and then takes
    its result, after checking that it was trained with this config and data."""
    hashes, elsewhere = hashes or DataHashes(), []

    def accept(path: Path) -> None:
        check_finished(cell_id, cfg, path, hashes)
        elsewhere.append(path)

    path = train(cfg, progress=progress, wait_for_lock=True, finished_elsewhere=accept)
    return path, not elsewhere  # (result, trained here)


def eta_seconds(durations: list[float], remaining: int, jobs: int) -> float:
    """Cells left, in waves of ``jobs``, at the mean time of the finished ones. (Elapsed time per
    finished cell would count the first cells of a parallel run ``jobs`` times over.)"""
    return sum(durations) / len(durations) * math.ceil(remaining / jobs) if remaining else 0.0


def _train_quietly(cell_id: str, cfg) -> tuple[Path, bool, float]:
    start = time.perf_counter()
    path, trained = train_cell(cell_id, cfg, progress=False)
    return path, trained, time.perf_counter() - start


def _train_in_parallel(pending: list[tuple[str, str, object]], jobs: int) -> int:
    """Cells in ``jobs`` worker processes (spawned: no forked torch state), one line per cell;
    returns how many were trained here (not finished by another process meanwhile).

    Shared tiny bases are built first, here, so that workers never race to build the same one.
    Each cell's ``threads`` comes from its config, so results match a serial run's.
    """
    from mutorbench.models.pretrain import base_dir, ensure_base

    bases = {base_dir(c): c for _, _, c in pending
             if c.model.source == "tiny" and c.model.pretrain}
    for cfg in bases.values():
        ensure_base(cfg)
    print(f"training {len(pending)} cells in {jobs} parallel processes", flush=True)
    start = time.perf_counter()
    durations: list[float] = []
    trained_here = 0
    with worker_pool(jobs) as pool:
        futures = {submit(pool, _train_quietly, cid, cfg): head for head, cid, cfg in pending}
        for k, fut in enumerate(as_completed(futures), 1):
            path, trained, seconds = fut.result()  # a failed cell stops the table with its error
            trained_here += trained
            values = ", ".join(f"{m} {v:.2f}" for m, v in
                               load_result(path).metrics.selected.values.items())
            elapsed = time.perf_counter() - start
            durations.append(seconds)
            eta = eta_seconds(durations, len(pending) - k, jobs)
            how = "done" if trained else "finished by another process meanwhile"
            print(f"{futures[fut]}: {how} in {seconds:.0f}s: {values}  [{k}/{len(pending)} cells, "
                  f"{elapsed / 60:.1f} min elapsed, ETA {eta / 60:.1f} min]", flush=True)
    return trained_here
