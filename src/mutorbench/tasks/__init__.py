"""Task registry: a task name in the config resolves here."""

from __future__ import annotations

from mutorbench.tasks.arith import ArithTask, ExactMatchEvaluator

TASKS = {"arith": ArithTask}


def build_task(cfg):
    if cfg.name not in TASKS:
        raise ValueError(f"unknown task {cfg.name!r}; available: {', '.join(sorted(TASKS))}")
    return TASKS[cfg.name](data_seed=cfg.data_seed, train_examples=cfg.train_examples,
                           eval_examples=cfg.eval_examples)


def build_evaluator(task, eval_cfg, prefix_attention: str):
    return ExactMatchEvaluator(task, max_new_tokens=eval_cfg.max_new_tokens,
                               batch_size=eval_cfg.batch_size, prefix_attention=prefix_attention)
