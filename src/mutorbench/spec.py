"""Table specs (`bench/<table>.yaml`): rows x columns x seeds, expanded into one run config per cell.

A cell's config is the scale's ``base`` merged with the column's overrides (task, eval), then the
row's (method, model, ...), then the tuned hyper-parameters the row names (``tuned``: the paper's
per-cell best d_max and a, read from Tables 10-11 under baselines/paper/, never typed in a spec),
then the row's per-column overrides, then the seed and bookkeeping. Later layers win; mappings
merge key by key.
"""

from __future__ import annotations

import copy
import fnmatch
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from mutorbench.errors import first_error
from mutorbench.evaluation.evaluator import metric_keys_of_config
from mutorbench.paper import DEFAULT_DIR as PAPER_DIR
from mutorbench.paper import load_paper_table
from mutorbench.train.config import RunConfig, config_tree, parse_config
from mutorbench.yamlio import apply_override, load_yaml_file

SPEC_DIR = Path("bench")
ROW_SCALE_KEYS = ("seeds", "status", "reason")  # per-scale row keys that are not config


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ColumnSpec(_Strict):
    id: str
    overrides: dict[str, Any] = {}
    scales: dict[str, dict[str, Any]] = {}  # per-scale column overrides (e.g. a generated task)
    paper: dict[str, str] = {}  # our metric name -> the paper table's column id
    # metric -> percent a guess scores (star graph: 100/degree for solve rate and decisive token)
    chance: dict[str, float] = {}
    run_at: list[str] | None = None  # scales that run this column (None: all); else "not run"
    # the training data's row id in the paper's tuned hyper-parameter tables (Tables 10-11)
    train: str | None = None


class TunedSpec(_Strict):
    """Method hyper-parameters read from a paper table of tuned values (Tables 10-11)."""

    table: str  # e.g. table10 (Gemma 2B), table11 (Llama 3 8B)
    row: str | None = None  # a fixed row (e.g. multi_token); None: the column's `train`
    keys: list[str] = ["d_max", "a"]  # e.g. [a] where the table varies d_max itself (Table 4)


class RowSpec(_Strict):
    id: str
    baseline: str | None = None  # the Δ column's reference row for this row (default: the table's)
    # the paper table's row of this row's cells; "{column}" stands for the column's id where the
    # paper has a row per column (Table 7: "{column}/ntp" is "100k/ntp" in column 100k)
    paper_row: str | None = None
    status: Literal["run", "not_run"] = "run"  # not_run: shown as "not run" in reports
    reason: str | None = None
    overrides: dict[str, Any] = {}
    tuned: TunedSpec | None = None  # method.<keys> from a table of tuned values, per column
    per_column: dict[str, dict[str, Any] | None] = {}  # None: this row has no such cell
    # per-scale row overrides: seeds, status/reason (a row not run at that scale), config keys
    scales: dict[str, dict[str, Any]] = {}


    def paper_row_at(self, column: str) -> str | None:
        return None if self.paper_row is None else self.paper_row.replace("{column}", column)


class ScaleSpec(_Strict):
    seeds: list[int] = Field(min_length=1)
    jobs: int = Field(default=1, ge=1)  # cells trained at once (CPU scales: with threads per cell)
    base: dict[str, Any] = {}
    note: str | None = None


class TableSpec(_Strict):
    table: str
    title: str
    paper: str
    rows: list[RowSpec]
    columns: list[ColumnSpec]
    scales: dict[str, ScaleSpec]
    # parameter columns of the report (Tables 4, 5, 16), computed from each row's configs
    params: list[Literal["added", "trainable"]] = []
    # paper_vs_ours: bars of the paper's and our means; seeds: ours only (the paper gives no
    # numbers), grouped by column, one dot per seed, the columns' chance lines (Fig. 4)
    plot: Literal["paper_vs_ours", "seeds"] = "paper_vs_ours"
    # learning curves in the report: every evaluation of the selection split (eval.every_steps)
    curves: bool = False
    # image tables: a figure of sampled images per row (one row of samples per class)
    sample_grids: bool = False
    baseline_row: str | None = None  # the Δ column's reference row of every row without its own

    def baseline_of(self, row_id: str) -> str | None:
        """The row's Δ reference: its own ``baseline``, else the table's (None for the reference
        itself or when nothing is declared)."""
        row = next(r for r in self.rows if r.id == row_id)
        base = row.baseline or self.baseline_row
        return base if base != row_id else None

    @model_validator(mode="after")
    def _known_columns(self):
        for kind, items in (("row", self.rows), ("column", self.columns)):
            seen = [x.id for x in items]
            twice = sorted({i for i in seen if seen.count(i) > 1})
            if twice:
                raise ValueError(f"{kind} ids must be unique; repeated: {', '.join(twice)}")
        ids = {c.id for c in self.columns}
        rows = {r.id for r in self.rows}
        if self.baseline_row is not None and self.baseline_row not in rows:
            raise ValueError(f"baseline_row {self.baseline_row!r} is not a row")
        for row in self.rows:
            if row.baseline is not None and row.baseline not in rows:
                raise ValueError(f"row {row.id!r}: baseline {row.baseline!r} is not a row")
        for row in self.rows:
            unknown = sorted(set(row.per_column) - ids)
            if unknown:
                raise ValueError(f"row {row.id!r}: per_column names unknown columns {unknown} "
                                 f"(columns: {', '.join(sorted(ids))}; quote ids with commas)")
        return self


class Cell(BaseModel):
    id: str  # row/column/seed
    row: str
    column: str
    seed: int
    status: str
    config: RunConfig | None  # None for cells that are not run

    @property
    def tree(self) -> dict | None:
        """The resolved config as results store it (None for cells that are not run)."""
        return None if self.config is None else config_tree(self.config)


def merge(base: dict, extra: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def natural_key(name: str) -> tuple[str, int]:
    """Sort key: table2 before table12."""
    head = name.rstrip("0123456789")
    return head, int(name[len(head):] or 0)


def _raw_spec(table: str, root: Path) -> tuple[Path, Any]:
    path = root / f"{table}.yaml"
    if not path.is_file():
        known = sorted((p.stem for p in root.glob("*.yaml")), key=natural_key)
        raise ValueError(f"unknown table {table!r}; specs available: {', '.join(known) or 'none'}")
    return path, load_yaml_file(path)


def _inherit(raw: dict, path: Path, root: Path) -> dict:
    """``inherits: table1``: columns named by id and the scales come from that spec (a column
    given as a mapping with a parent's id takes the parent's column with its keys merged over).

    Tables that repeat Table 1's cells (4, 5, 6, 16) then train exactly Table 1's configs, so
    their shared cells are reused (bench/reuse.py); ``scales`` given here merge over the parent's.
    """
    parent_name = raw.pop("inherits")
    _, parent = _raw_spec(parent_name, root)
    if not isinstance(parent, dict) or "inherits" in parent:
        raise ValueError(f"{path}: inherits {parent_name!r}, which must be a plain spec")
    by_id = {c.get("id"): c for c in parent.get("columns", []) if isinstance(c, dict)}
    columns = []
    for col in raw.get("columns", []):
        if isinstance(col, str):
            if col not in by_id:
                raise ValueError(f"{path}: column {col!r} is not in {parent_name} "
                                 f"(columns: {', '.join(by_id)})")
            col = by_id[col]
        elif isinstance(col, dict) and col.get("id") in by_id:  # the parent's, keys changed here
            col = merge(by_id[col["id"]], col)
        columns.append(col)
    return raw | {"columns": columns,
                  "scales": merge(parent.get("scales", {}), raw.get("scales", {}))}


def load_spec(table: str, root: str | Path = SPEC_DIR) -> TableSpec:
    root = Path(root)
    path, raw = _raw_spec(table, root)
    if isinstance(raw, dict) and "inherits" in raw:
        raw = _inherit(dict(raw), path, root)
    try:
        return TableSpec.model_validate(raw)
    except ValidationError as err:
        where, msg = first_error(err)
        raise ValueError(f"{path}: malformed spec at {where}: {msg}") from None


def tuned_values(spec: TableSpec, row: RowSpec, col: ColumnSpec,
                 paper_root: str | Path = PAPER_DIR, loaded: dict | None = None) -> dict[str, Any]:
    """The ``method`` keys a row takes from the paper's tuned values for this column's data
    (``loaded``: paper tables already read, by name, so an expansion reads each file once)."""
    ref = row.tuned
    if ref is None:
        return {}
    loaded = {} if loaded is None else loaded
    if ref.table not in loaded:
        loaded[ref.table] = load_paper_table(ref.table, paper_root)
    paper = loaded[ref.table]
    entry = ref.row or col.train
    where = f"{spec.table} row {row.id!r}, column {col.id!r}: tuned from {ref.table}"
    if entry is None:
        raise ValueError(f"{where} needs the column's `train` (a row of {ref.table})")
    unknown = sorted(set(ref.keys) - {c.id for c in paper.columns})
    if unknown:
        cols = ", ".join(c.id for c in paper.columns)
        raise ValueError(f"{where}: {unknown} are not columns of {ref.table} ({cols})")
    try:
        values = {key: paper.value(entry, key) for key in ref.keys}
    except KeyError:
        known = ", ".join(r.id for r in paper.rows)
        raise ValueError(f"{where}: {ref.table} has no row {entry!r} (rows: {known})") from None
    if any(v is None for v in values.values()):
        raise ValueError(f"{where}: {ref.table} gives no value for {entry!r} ({values})")
    return {"method": values}


def expand(spec: TableSpec, scale: str, *, overrides: list[str] = (), only: str | None = None,
           shard: tuple[int, int] | None = None, output_root: str = "results",
           paper_root: str | Path = PAPER_DIR) -> list[Cell]:
    if scale not in spec.scales:
        raise ValueError(f"{spec.table} has scales {', '.join(spec.scales)}, not {scale!r}")
    sc = spec.scales[scale]
    cells, tuned_tables = [], {}
    for row in spec.rows:
        row_scale = row.scales.get(scale, {})
        seeds = row_scale.get("seeds", sc.seeds)
        for col in spec.columns:
            if col.id in row.per_column and row.per_column[col.id] is None:
                continue
            status = row_scale.get("status", row.status)
            if col.run_at is not None and scale not in col.run_at:
                status = "not_run"
            for seed in seeds:
                cid = f"{row.id}/{col.id}/seed{seed}"
                if only and not fnmatch.fnmatch(cid, only):
                    continue  # before --set: an override for MuToR cells need not fit Next-Token's
                if status != "run":
                    cells.append(Cell(id=cid, row=row.id, column=col.id, seed=seed,
                                      status=status, config=None))
                    continue
                tree = merge(sc.base, col.overrides)
                tree = merge(tree, col.scales.get(scale, {}))
                tree = merge(tree, row.overrides)
                tree = merge(tree, {k: v for k, v in row_scale.items() if k not in ROW_SCALE_KEYS})
                tree = merge(tree, tuned_values(spec, row, col, paper_root, tuned_tables))
                tree = merge(tree, row.per_column.get(col.id) or {})
                tree = merge(tree, {
                    "seed": seed, "table": spec.table, "scale": scale,
                    "cell": {"row": row.id, "column": col.id},
                    "output_dir": f"{output_root}/{spec.table}/{scale}",
                    "run_name": f"{row.id}--{col.id}--seed{seed}".replace("/", "_"),
                })
                pretrain = tree.get("model", {}).get("pretrain")
                if isinstance(pretrain, dict):  # tiny bases are cached beside the results
                    pretrain.setdefault("cache_dir", f"{output_root}/bases")
                images = tree.get("eval", {}).get("images")
                if isinstance(images, dict):  # and the tiny image feature space
                    images.setdefault("feature_cache", f"{output_root}/features")
                for assignment in overrides:
                    apply_override(tree, assignment)
                try:
                    cfg = parse_config(tree)
                except ValueError as err:
                    raise ValueError(f"{spec.table} cell {cid}: {err}") from None
                _check_metric_keys(spec.table, col, cfg)
                cells.append(Cell(id=cid, row=row.id, column=col.id, seed=seed, status="run",
                                  config=cfg))
    if only and not cells:
        raise ValueError(f"--only {only!r} matches no cell of {spec.table}")
    if shard:
        i, n = shard
        cells = cells[i - 1::n]
    return cells


def _check_metric_keys(table: str, col: ColumnSpec, cfg: RunConfig) -> None:
    """A column's `paper`/`chance` metric names must be values its task produces."""
    valid = metric_keys_of_config(cfg.task)
    for field, names in (("paper", col.paper), ("chance", col.chance)):
        unknown = sorted(set(names) - set(valid))
        if unknown:
            raise ValueError(f"{table} column {col.id}: {field} names {unknown}, which task "
                             f"{cfg.task.name!r} does not produce (valid: {', '.join(valid)})")


def parse_shard(text: str | None) -> tuple[int, int] | None:
    if not text:
        return None
    try:
        i, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise ValueError(f"--shard expects i/n (e.g. 2/4), got {text!r}") from None
    if not 1 <= i <= n:
        raise ValueError(f"--shard {text}: need 1 <= i <= n")
    return i, n
