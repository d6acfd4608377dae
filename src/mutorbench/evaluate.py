"""`mutor-bench eval`: score any causal LM (HF id or local checkpoint) on a task; write a result.

The same evaluators as training use, with the paper's bidirectional prefill by default. A model
exported by MuToR training is a plain causal LM and evaluates like any other.
"""

from __future__ import annotations

import time
from pathlib import Path

import torch

from mutorbench import results
from mutorbench.evaluation.evaluator import build_evaluator, check_metric, metric_keys
from mutorbench.models.adapters import adapter_for
from mutorbench.provenance import utc_now, weights_hash
from mutorbench.tasks import build_task
from mutorbench.tasks.base import content_hash, texts_hash, tokenizer_hash
from mutorbench.train.build import build_base_model, build_tokenizer
from mutorbench.train.config import RunConfig, config_tree

run_dir_of = results.eval_run_dir  # the layout lives in results.py


def evaluate_model(cfg: RunConfig, *, prefix_attention: str = "bidirectional") -> Path:
    start = utc_now()
    if cfg.model.source != "pretrained" or not cfg.model.name_or_path:
        raise ValueError("eval needs --model (a Hugging Face id or a local checkpoint directory)")
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    out = run_dir_of(cfg)
    result_path = out / results.RESULT_FILE
    if result_path.exists():
        raise ValueError(f"{result_path} exists (choose another --set run_name=...)")
    task = build_task(cfg.task)
    check_metric(cfg.eval.metric, metric_keys(task), task.name)
    split = cfg.eval.report_split
    pairs = task.texts(split)  # load (or fail clearly) before the model
    tokenizer = build_tokenizer(cfg, task)
    model = build_base_model(cfg, tokenizer).eval()
    evaluator = build_evaluator(task, cfg.eval, prefix_attention)
    # exactly what is scored is counted and hashed: every example (or the first eval.limit);
    # task.max_length filters training examples only and never shrinks an evaluation
    evaluator.prepare(tokenizer, split, max_positions=adapter_for(model).max_positions(model))
    scored = evaluator.pairs(split)
    counts = {"split": split, "total": len(pairs), "kept": len(scored), "limit": cfg.eval.limit}
    t0 = time.perf_counter()
    values = evaluator(model, tokenizer, split,
                       log_path=results.generations_path(out, 0, split))
    seconds = time.perf_counter() - t0
    checkpoint = {"step": 0, "epoch": 0.0, "split": split, "values": values}
    data = results.assemble(
        cfg, kind="eval", config=config_tree(cfg), start_utc=start, budget=None,
        method={"id": "eval", "hyperparameters": {"prefix_attention": prefix_attention}},
        data={"task": task.name, "sources": task.sources(), "counts": {split: counts},
              "content_hash": content_hash(task.scoring_examples(tokenizer, scored)),
              "order_hash": None, "split_hashes": {split: texts_hash(scored)},
              "tokenizer_hash": tokenizer_hash(tokenizer)},
        init_weights_hash=weights_hash(model),
        metrics={"checkpoints": [checkpoint],
                 "selected": {"rule": "single checkpoint", "checkpoint": checkpoint,
                              "values": dict(values)}},
        throughput={"regular_tokens_per_s": 0.0, "register_tokens_per_s": 0.0,
                    "step_time_median_s": seconds, "peak_memory_bytes": 0,
                    "peak_memory_kind": "cpu_rss", "device": str(next(model.parameters()).device),
                    "threads": torch.get_num_threads(), "world_size": 1})
    results.write_result(result_path, data)
    of_total = "" if len(scored) == len(pairs) else f" of {len(pairs)}"
    print(f"eval {task.name} ({split}, {len(scored)}{of_total} examples) of {cfg.model.name_or_path}: "
          + ", ".join(f"{k} {v:.2f}" for k, v in values.items()) + f"\nresult: {result_path}")
    return result_path
