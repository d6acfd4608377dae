"""Tasks, one file each; importing the package registers the built-in ones (``TASKS``), and a
``task.name`` in the config resolves there."""

from __future__ import annotations

from mutorbench.evaluation.evaluator import SCORER_KEYS, GenerationEvaluator, get_scorer
from mutorbench.registry import TASKS
from mutorbench.tasks import (  # noqa: F401 (importing a task module registers it)
    aqua,
    arith,
    dialogues,
    gsm8k,
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


def task_class(name: str):
    return TASKS.get(name)


def build_task(cfg):
    task = TASKS.get(cfg.name).from_config(cfg)
    if cfg.metric:
        get_scorer(cfg.metric)  # fail before any work on an unknown metric
        task.metric = cfg.metric
    return task


def _keys(scorer: str, teacher_forced: bool) -> tuple[str, ...]:
    return SCORER_KEYS[scorer] + (("token_accuracy",) if teacher_forced else ())


def metric_keys(task) -> tuple[str, ...]:
    """The value keys the task's evaluator produces."""
    return _keys(task.metric, task.teacher_forced)


def metric_keys_of_config(task_cfg) -> tuple[str, ...]:
    """The same, from a task config alone (no data loaded): for checking specs up front."""
    cls = TASKS.get(task_cfg.name)
    return _keys(task_cfg.metric or cls.metric, cls.teacher_forced)


def build_evaluator(task, eval_cfg, prefix_attention: str):
    return GenerationEvaluator(task, get_scorer(task.metric), max_new_tokens=eval_cfg.max_new_tokens,
                               batch_size=eval_cfg.batch_size, prefix_attention=prefix_attention,
                               keys=metric_keys(task), limit=eval_cfg.limit,
                               teacher_forced=task.teacher_forced)
