"""`mutor-bench eval`: score any causal LM (HF id or local checkpoint) on a task; write a result.

The same evaluators as training use, with the paper's bidirectional prefill by default. A model
exported by MuToR training is a plain causal LM and evaluates like any other. On an image task
the model is a LlamaGen checkpoint file (LlamaGen's released ``c2i_B_256.pt``, or a suite run's
``checkpoint.pt``): the image evaluator samples ``eval.images.num_samples`` images with guidance,
decodes and scores them exactly as it scores a training run's arms.
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


def _begin(cfg: RunConfig):
    """(run folder, result path, task, split), checked before any model is loaded."""
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    out = run_dir_of(cfg)
    result_path = out / results.RESULT_FILE
    if result_path.exists():
        raise ValueError(f"{result_path} exists (choose another --set run_name=...)")
    task = build_task(cfg.task)
    check_metric(cfg.eval.metric, metric_keys(task), task.name)
    return out, result_path, task, cfg.eval.report_split


def _single_checkpoint(values: dict, split: str) -> dict:
    checkpoint = {"step": 0, "epoch": 0.0, "split": split, "values": values}
    return {"checkpoints": [checkpoint],
            "selected": {"rule": "single checkpoint", "checkpoint": checkpoint,
                         "values": dict(values)}}


def evaluate_images(cfg: RunConfig) -> Path:
    """Sample, decode and score a LlamaGen checkpoint (``model.checkpoint``) on an image task."""
    start = utc_now()
    if cfg.model.source != "llamagen" or not cfg.model.checkpoint:
        raise ValueError("eval on an image task needs --model: a LlamaGen checkpoint file")
    out, result_path, task, split = _begin(cfg)
    vocabulary = build_tokenizer(cfg, task)
    evaluator = build_evaluator(task, cfg.eval, "bidirectional", seed=cfg.seed)
    model = build_base_model(cfg, vocabulary, task).eval()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model.to(device)
    # the scoring files (reference, feature space, decoder) fail here, before any sampling
    evaluator.prepare(vocabulary, split, max_positions=adapter_for(model).max_positions(model))
    t0 = time.perf_counter()
    values = evaluator(model, vocabulary, split, log_path=results.generations_path(out, 0, split))
    seconds = time.perf_counter() - t0
    n = evaluator.settings.num_samples
    reference = task.reference_hash(split)
    data = results.assemble(
        cfg, kind="eval", config=config_tree(cfg), start_utc=start, budget=None,
        method={"id": "eval", "hyperparameters": {"sampling": "classifier-free guidance, "
                                                  "eval.images"}},
        data={"task": task.name, "sources": task.sources(),
              "counts": {split: {"split": split, "total": n, "kept": n, "limit": None}},
              "content_hash": reference, "order_hash": None, "split_hashes": {split: reference},
              "tokenizer_hash": None},
        init_weights_hash=weights_hash(model), metrics=_single_checkpoint(values, split),
        throughput={"regular_tokens_per_s": n * task.grid ** 2 / seconds,
                    "register_tokens_per_s": 0.0, "step_time_median_s": seconds,
                    "peak_memory_bytes": int(torch.cuda.max_memory_allocated(device))
                    if device.type == "cuda" else 0,
                    "peak_memory_kind": "cuda_max_allocated" if device.type == "cuda"
                    else "cpu_rss", "device": str(device), "threads": torch.get_num_threads(),
                    "world_size": 1})
    results.write_result(result_path, data)
    print(f"eval {task.name} ({split}, {n} sampled images, {n / seconds:.2f} images/s sampled, "
          f"decoded and scored) of {cfg.model.checkpoint}: "
          + ", ".join(f"{k} {v:.3f}" for k, v in values.items()) + f"\nresult: {result_path}")
    return result_path


def evaluate_model(cfg: RunConfig, *, prefix_attention: str = "bidirectional") -> Path:
    start = utc_now()
    if cfg.model.source == "llamagen":
        return evaluate_images(cfg)
    if cfg.model.source != "pretrained" or not cfg.model.name_or_path:
        raise ValueError("eval needs --model (a Hugging Face id or a local checkpoint directory)")
    out, result_path, task, split = _begin(cfg)
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
    data = results.assemble(
        cfg, kind="eval", config=config_tree(cfg), start_utc=start, budget=None,
        method={"id": "eval", "hyperparameters": {"prefix_attention": prefix_attention}},
        data={"task": task.name, "sources": task.sources(), "counts": {split: counts},
              "content_hash": content_hash(task.scoring_examples(tokenizer, scored)),
              "order_hash": None, "split_hashes": {split: texts_hash(scored)},
              "tokenizer_hash": tokenizer_hash(tokenizer)},
        init_weights_hash=weights_hash(model), metrics=_single_checkpoint(values, split),
        throughput={"regular_tokens_per_s": 0.0, "register_tokens_per_s": 0.0,
                    "step_time_median_s": seconds, "peak_memory_bytes": 0,
                    "peak_memory_kind": "cpu_rss", "device": str(next(model.parameters()).device),
                    "threads": torch.get_num_threads(), "world_size": 1})
    results.write_result(result_path, data)
    of_total = "" if len(scored) == len(pairs) else f" of {len(pairs)}"
    print(f"eval {task.name} ({split}, {len(scored)}{of_total} examples) of {cfg.model.name_or_path}: "
          + ", ".join(f"{k} {v:.2f}" for k, v in values.items()) + f"\nresult: {result_path}")
    return result_path
