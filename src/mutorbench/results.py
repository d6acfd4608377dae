"""The result JSON: one per run, versioned, validated on load, written atomically at the end.

`schema/result.schema.json` (package data) is generated from :class:`Result`; a test keeps the file
and the model identical, so the file is the contract other tools can read.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mutorbench.errors import first_error
from mutorbench.fsio import atomic_write_text, read_text
from mutorbench.metrics import METRICS

SCHEMA_VERSION = 1
SCHEMA_PATH = Path(__file__).parent / "schema" / "result.schema.json"
METRIC_NAMES = tuple(METRICS)  # the fixed value names a result may hold (metrics.py)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MethodRecord(_Strict):
    id: str
    hyperparameters: dict[str, Any]


class BudgetRecord(_Strict):
    kind: Literal["epochs", "steps", "tokens"]
    amount: float = Field(gt=0)
    global_batch: int = Field(ge=1)
    steps_per_epoch: int = Field(ge=1)
    total_steps: int = Field(ge=1)
    warmup_steps: int = Field(ge=0)
    steps_taken: int = Field(ge=0)
    regular_tokens: int = Field(ge=0)
    register_tokens: int = Field(ge=0)


class DataRecord(_Strict):
    task: str
    sources: dict[str, Any]
    counts: dict[str, dict[str, Any]]
    content_hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    order_hash: str | None = Field(pattern=r"^[0-9a-f]{64}$")  # None: evaluation only
    # sha256 of each split's (prompt, answer) texts as read: a finished cell is reused only on
    # the same data. None: written before they were recorded (such a cell is never reused)
    split_hashes: dict[str, str] | None = None
    tokenizer_hash: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")


Values = dict[str, float]


class Checkpoint(_Strict):
    step: int = Field(ge=0)
    epoch: float = Field(ge=0)
    split: str
    values: Values


class Selected(_Strict):
    rule: str
    checkpoint: Checkpoint | None
    values: Values


class Metrics(_Strict):
    checkpoints: list[Checkpoint]
    selected: Selected


class Throughput(_Strict):
    regular_tokens_per_s: float = Field(ge=0)
    register_tokens_per_s: float = Field(ge=0)
    step_time_median_s: float = Field(ge=0)
    peak_memory_bytes: int = Field(ge=0)
    peak_memory_kind: Literal["cpu_rss", "cuda_max_allocated"]
    device: str
    threads: int = Field(ge=1)
    world_size: int = Field(ge=1)


class Provenance(_Strict):
    git_sha: str | None
    packages: dict[str, str]
    python: str
    hardware: dict[str, Any]
    command: list[str]
    start_utc: str
    end_utc: str


class Result(_Strict):
    schema_version: Literal[1]
    kind: Literal["train", "eval"]
    table: str | None
    cell: dict[str, str] | None
    scale: str
    method: MethodRecord
    seed: int
    config: dict[str, Any]
    budget: BudgetRecord | None  # None for an evaluation-only result
    data: DataRecord
    init_weights_hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    metrics: Metrics
    throughput: Throughput
    provenance: Provenance
    status: Literal["complete"]
    # a cell with the same training config as a finished one of another table: that result's path
    reused_from: str | None = None


RESULT_FILE = "result.json"


def train_run_dir(cfg) -> Path:
    """Where a training run (a table cell) is filed: ``output_dir/run_name`` (default
    ``<method>-seed<seed>``). The results module owns the run-folder layout; trainer, runner and
    reporter all ask here."""
    return Path(cfg.output_dir) / (cfg.run_name or f"{cfg.method.id}-seed{cfg.seed}")


def eval_run_dir(cfg) -> Path:
    """Where ``mutor-bench eval`` files a result: ``output_dir/eval-<task>-<model>`` (a model
    folder's name; a checkpoint file's folder and name, as runs name theirs checkpoint.pt)."""
    where = Path(cfg.model.weights_location or "model")
    name = f"{where.parent.name}-{where.stem}" if where.suffix in (".pt", ".pth") else where.name
    return Path(cfg.output_dir) / (cfg.run_name or f"eval-{cfg.task.name}-{name}")


def result_path_of(cfg) -> Path:
    return train_run_dir(cfg) / RESULT_FILE


def generations_path(run_dir: Path, step: int, split: str) -> Path:
    """The per-example log of one evaluation (the reporter's paired deltas read it)."""
    return Path(run_dir) / "generations" / f"step{step:07d}-{split}.jsonl"


def preview_path(log_path: str | Path) -> Path:
    """The decoded sample preview an image evaluation files beside its log (step*.samples.npz)."""
    return Path(log_path).with_suffix(".samples.npz")


class TrivialBaseline(_Strict):
    """What a column scores with no model (the training split's majority answer, lead-1):
    computed when a table runs (bench/trivial.py), read by the reporter."""
    schema_version: Literal[1]
    kind: Literal["trivial_baseline"]
    table: str
    scale: str
    column: str
    task: str
    split: str
    name: str
    rule: str
    values: Values
    split_hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    key: str | None = None  # one of several baselines of the column (images: marginals, data)
    settings: dict[str, Any] | None = None  # how image metrics were computed (feature space...)


BASELINE_FILE = "baseline.json"


def baseline_path(results_root: str | Path, table: str, scale: str, column: str,
                  key: str | None = None) -> Path:
    name = f"trivial--{column}" + (f"--{key}" if key else "")
    return Path(results_root) / table / scale / name.replace("/", "_") / BASELINE_FILE


def baseline_paths(results_root: str | Path, table: str, scale: str, column: str) -> list[Path]:
    """Every trivial baseline filed for a column (none, one, or one per key), in name order."""
    folder = Path(results_root) / table / scale
    stem = baseline_path(results_root, table, scale, column).parent.name
    if not folder.is_dir():
        return []
    return [p / BASELINE_FILE for p in sorted(folder.iterdir())
            if (p.name == stem or p.name.startswith(stem + "--")) and (p / BASELINE_FILE).is_file()]


def write_baseline(path: str | Path, data: dict) -> Path:
    try:
        TrivialBaseline.model_validate(data)
    except ValidationError as err:
        loc, msg = first_error(err)
        raise ValueError(f"trivial baseline: invalid at {loc}: {msg}") from None
    return atomic_write_text(path, json.dumps(data, indent=2) + "\n")


def load_baseline(path: str | Path) -> TrivialBaseline:
    text = read_text(path, "trivial baseline file")
    try:
        return TrivialBaseline.model_validate(json.loads(text))
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON ({err})") from None
    except ValidationError as err:
        loc, msg = first_error(err)
        raise ValueError(f"{path}: invalid trivial baseline at {loc}: {msg}") from None


def assemble(cfg, *, kind: str, config: dict, start_utc: str, method: dict,
             budget: dict | None, data: dict, init_weights_hash: str, metrics: dict,
             throughput: dict) -> dict:
    """One result, in the schema's key order, for training and evaluation alike (provenance and
    the run's labels filled in here)."""
    from mutorbench.provenance import provenance

    return {"schema_version": SCHEMA_VERSION, "kind": kind, "table": cfg.table, "cell": cfg.cell,
            "scale": cfg.scale, "method": method, "seed": cfg.seed, "config": config,
            "budget": budget, "data": data, "init_weights_hash": init_weights_hash,
            "metrics": metrics, "throughput": throughput, "provenance": provenance(start_utc),
            "status": "complete"}


def check_metric_names(values: dict) -> None:
    unknown = set(values) - set(METRIC_NAMES)
    if unknown:
        raise ValueError(f"unknown metric names {sorted(unknown)}; fixed names: {METRIC_NAMES}")


def validate(data: Any, *, where: str = "result") -> Result:
    try:
        result = Result.model_validate(data)
    except ValidationError as err:
        loc, msg = first_error(err)
        raise ValueError(f"{where}: invalid result at {loc}: {msg}") from None
    for cp in result.metrics.checkpoints:
        check_metric_names(cp.values)
    check_metric_names(result.metrics.selected.values)
    return result


def write_result(path: str | Path, data: dict) -> Path:
    """Validate, then write atomically: a temporary file in the same folder, renamed into place."""
    validate(data)
    return atomic_write_text(path, json.dumps(data, indent=2, sort_keys=False) + "\n")


def load_result(path: str | Path) -> Result:
    path = Path(path)
    text = read_text(path, "result file")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON ({err})") from None
    return validate(data, where=str(path))


def json_schema() -> dict:
    schema = Result.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://mutor-bench/schema/result.schema.json"
    return schema
