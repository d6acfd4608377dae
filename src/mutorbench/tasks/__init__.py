"""Task registry: a task name in the config resolves here."""

from __future__ import annotations

from mutorbench.evaluation.evaluator import GenerationEvaluator, get_scorer
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


def build_task(cfg):
    if cfg.name in GENERATED_TASKS:
        task = GENERATED_TASKS[cfg.name](data_seed=cfg.data_seed, train_examples=cfg.train_examples,
                                         eval_examples=cfg.eval_examples)
    elif cfg.name == "star_graph":
        task = StarGraphTask(data_seed=cfg.data_seed, train_examples=cfg.train_examples,
                             eval_examples=cfg.eval_examples, degree=cfg.graph.degree,
                             path_length=cfg.graph.path_length, num_nodes=cfg.graph.num_nodes,
                             local_path=cfg.local_path)
    elif cfg.name == "gsm8k":
        task = GSM8KTask(local_path=cfg.local_path, revision=cfg.revision)
    elif cfg.name == "jsonl":
        task = JsonlTask(local_path=cfg.local_path)
    elif cfg.name in HF_TASKS:
        task = HF_TASKS[cfg.name](local_path=cfg.local_path, revision=cfg.revision)
    else:
        raise ValueError(f"unknown task {cfg.name!r}; available: {', '.join(TASKS)}")
    if cfg.metric:
        get_scorer(cfg.metric)  # fail before any work on an unknown metric
        task.metric = cfg.metric
    return task


def build_evaluator(task, eval_cfg, prefix_attention: str):
    return GenerationEvaluator(task, get_scorer(task.metric), max_new_tokens=eval_cfg.max_new_tokens,
                               batch_size=eval_cfg.batch_size, prefix_attention=prefix_attention)
