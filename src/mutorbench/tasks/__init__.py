"""Tasks, one file each; importing the package registers the built-in ones (``TASKS``), and a
``task.name`` in the config resolves there."""

from __future__ import annotations

from mutorbench.registry import TASKS
from mutorbench.tasks import (  # noqa: F401 (importing a task module registers it)
    aqua,
    arith,
    dialogues,
    gsm8k,
    image_codes,
    jsonl,
    math500,
    mathgen,
    openmath,
    star_graph,
    summarization,
)
from mutorbench.tasks.generated import GeneratedTask

# Tiny scale: deterministic generated data in the real datasets' formats (offline).
GENERATED_TASKS = {name: cls for name, cls in TASKS.items() if issubclass(cls, GeneratedTask)}


def build_task(cfg):
    task = TASKS.get(cfg.name).from_config(cfg)
    if cfg.metric:
        task.metric = cfg.metric  # checked with the config (train/config.py)
    return task
