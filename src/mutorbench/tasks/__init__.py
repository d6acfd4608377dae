"""Task registry: a task name in the config resolves here."""

from __future__ import annotations

from mutorbench.evaluation.evaluator import SCORER_KEYS, GenerationEvaluator, get_scorer
from mutorbench.tasks.aqua import AquaTask
from mutorbench.tasks.arith import ArithTask
from mutorbench.tasks.dialogues import DialoguesTask
from mutorbench.tasks.gsm8k import GSM8KTask
from mutorbench.tasks.jsonl import JsonlTask
from mutorbench.tasks.math500 import MATH500Task
from mutorbench.tasks.mathgen import GENERATED_MATH
from mutorbench.tasks.openmath import OneMGSM, OneMMATH, TwoMGSM
from mutorbench.tasks.star_graph import StarGraphTask
from mutorbench.tasks.summarization import DialogSumTask, SAMSumTask

HF_TASKS = {t.name: t for t in (OneMGSM, TwoMGSM, OneMMATH, MATH500Task, AquaTask, SAMSumTask,
                                DialogSumTask)}
# Tiny scale: deterministic generated data in the real datasets' formats (offline).
GENERATED_TASKS = {"arith": ArithTask, "dialogues": DialoguesTask, **GENERATED_MATH}
TASKS = (*GENERATED_TASKS, "star_graph", "gsm8k", "jsonl", *HF_TASKS)


def task_class(name: str):
    classes = {**GENERATED_TASKS, "star_graph": StarGraphTask, "gsm8k": GSM8KTask,
               "jsonl": JsonlTask, **HF_TASKS}
    if name not in classes:
        raise ValueError(f"unknown task {name!r}; available: {', '.join(TASKS)}")
    return classes[name]


def build_task(cfg):
    if cfg.name in GENERATED_TASKS:
        if cfg.local_path or cfg.files:  # would be silently ignored
            raise ValueError(f"task {cfg.name!r} is generated: task.local_path and task.files do "
                             "not apply (use a real task, or jsonl for your own files)")
        task = GENERATED_TASKS[cfg.name](data_seed=cfg.data_seed, train_examples=cfg.train_examples,
                                         eval_examples=cfg.eval_examples)
    elif cfg.name == "star_graph":
        task = StarGraphTask(data_seed=cfg.data_seed, train_examples=cfg.train_examples,
                             eval_examples=cfg.eval_examples, degree=cfg.graph.degree,
                             path_length=cfg.graph.path_length, num_nodes=cfg.graph.num_nodes,
                             local_path=cfg.local_path, files=dict(cfg.files or {}))
    elif cfg.name == "gsm8k":
        task = GSM8KTask(local_path=cfg.local_path, revision=cfg.revision, files=cfg.files)
    elif cfg.name == "jsonl":
        task = JsonlTask(local_path=cfg.local_path, files=dict(cfg.files or {}))
    elif cfg.name in HF_TASKS:
        task = HF_TASKS[cfg.name](local_path=cfg.local_path, revision=cfg.revision, files=cfg.files)
    else:
        raise ValueError(f"unknown task {cfg.name!r}; available: {', '.join(TASKS)}")
    if cfg.metric:
        get_scorer(cfg.metric)  # fail before any work on an unknown metric
        task.metric = cfg.metric
    return task


def metric_keys(task) -> tuple[str, ...]:
    """The value keys the task's evaluator produces."""
    extra = ("token_accuracy",) if getattr(task, "teacher_forced", False) else ()
    return SCORER_KEYS[task.metric] + extra


def metric_keys_of_config(task_cfg) -> tuple[str, ...]:
    """The same, from a task config alone (no data loaded): for checking specs up front."""
    cls = task_class(task_cfg.name)
    scorer = task_cfg.metric or cls.metric
    extra = ("token_accuracy",) if getattr(cls, "teacher_forced", False) else ()
    return SCORER_KEYS[scorer] + extra


def build_evaluator(task, eval_cfg, prefix_attention: str):
    return GenerationEvaluator(task, get_scorer(task.metric), max_new_tokens=eval_cfg.max_new_tokens,
                               batch_size=eval_cfg.batch_size, prefix_attention=prefix_attention,
                               keys=metric_keys(task), limit=eval_cfg.limit)
