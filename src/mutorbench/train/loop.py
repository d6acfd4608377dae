"""One training loop for every method (`mutor-bench train`).

Reads a RunConfig, trains one arm, evaluates at each epoch end, and writes one result JSON when —
and only when — the run finishes. The loop knows methods only through the Method protocol.
"""

from __future__ import annotations

import json
import random
import resource
import statistics
import time
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from mutorbench import results
from mutorbench.evaluation.evaluator import check_metric, max_positions_of
from mutorbench.fsio import append_line, atomic_write_text, run_folder_lock
from mutorbench.methods.losses import combine
from mutorbench.metrics import get_metric
from mutorbench.models.tokenizer import tokenizer_from_str, trains_own_tokenizer
from mutorbench.provenance import provenance, utc_now, weights_hash
from mutorbench.tasks import build_evaluator, build_task, metric_keys
from mutorbench.tasks.base import content_hash, texts_hash, tokenize_split, tokenizer_hash
from mutorbench.train.budget import plan_budget, steps_per_epoch
from mutorbench.train.build import (
    build_base_model,
    build_method,
    build_optimizer,
    build_tokenizer,
)
from mutorbench.train.checkpoint import (
    TrainState,
    load_checkpoint,
    read_checkpoint,
    save_checkpoint,
)
from mutorbench.train.config import RunConfig, config_tree
from mutorbench.train.distributed import init_distributed, is_sharded, no_sync, wrap
from mutorbench.train.sampler import OrderSampler, chain_hash


class Interrupted(RuntimeError):
    """Raised by the test hook ``stop_after_steps``; behaves like a crash (no result written)."""


run_dir_of = results.train_run_dir  # the layout lives in results.py


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def select(checkpoints: list[dict], rule: str, metric: str, select_split: str,
           report_split: str) -> dict:
    """Pick a step by ``metric`` on ``select_split`` (or the last step); report ``report_split``."""
    candidates = [c for c in checkpoints if c["split"] == select_split]
    if not candidates:
        return {"rule": rule, "checkpoint": None, "values": {}}
    if rule == "last":
        chosen = candidates[-1]
        label = f"last, reported on {report_split}"
    else:
        missing = [c["step"] for c in candidates if metric not in c["values"]]
        if missing:  # never pick a checkpoint by a value it does not have
            raise ValueError(f"selection metric {metric!r} is not among the evaluated values "
                             f"{sorted(candidates[0]['values'])}")
        sign = 1 if get_metric(metric).higher_is_better else -1
        chosen = max(candidates, key=lambda c: sign * c["values"][metric])
        label = f"best {metric} on {select_split}, reported on {report_split}"
    reported = next(c for c in checkpoints
                    if c["step"] == chosen["step"] and c["split"] == report_split)
    return {"rule": label, "checkpoint": reported, "values": dict(reported["values"])}


def peak_memory(device: torch.device) -> tuple[int, str]:
    if device.type == "cuda":
        return int(torch.cuda.max_memory_allocated(device)), "cuda_max_allocated"
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024, "cpu_rss"


def train(cfg: RunConfig, *, stop_after_steps: int | None = None, progress: bool = True,
          wait_for_lock: bool = False, finished_elsewhere=None) -> Path:
    """Train one arm; returns the result path. Resumes from the run folder's checkpoint if any.

    Everything that can be wrong with the input (config, data, tokenizer, lengths, metric names)
    fails before the run folder is touched. The folder is then locked for the whole run: a second
    process refuses, or with ``wait_for_lock`` waits and returns the result the first one wrote
    (after ``finished_elsewhere(path)``, which may refuse it).
    """
    start_utc = utc_now()
    dist = init_distributed()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    seed_everything(cfg.seed)
    run_dir = run_dir_of(cfg)
    result_path = run_dir / "result.json"
    if result_path.exists():
        raise ValueError(f"{result_path} exists: this run is complete (choose another run_name)")
    tree = config_tree(cfg)

    task = build_task(cfg.task)
    check_metric(cfg.eval.metric, metric_keys(task), task.name)
    eval_splits = list(dict.fromkeys([cfg.eval.select_split, cfg.eval.report_split]))
    # every split is read first: a missing dataset fails before any model download
    data_hashes = {split: texts_hash(task.texts(split)) for split in ["train", *eval_splits]}
    tokenizer = _tokenizer_for(cfg, task, run_dir)
    examples, counts = tokenize_split(task, "train", tokenizer, cfg.task.max_length)
    model = build_base_model(cfg, tokenizer)
    init_hash = weights_hash(model)  # before the method adds anything
    method = build_method(cfg.method, seed=cfg.seed)
    evaluator = build_evaluator(task, cfg.eval, method.prefix_attention)
    _check_positions(model, examples, evaluator, tokenizer, eval_splits)
    identity = {"config": tree, "data": data_hashes, "tokenizer": tokenizer_hash(tokenizer)}
    lock = (run_folder_lock(run_dir, wait=wait_for_lock,
                            on_wait=lambda: print(f"waiting: {run_dir} is in use by another "
                                                  "process", flush=True))
            if dist.is_main else nullcontext())
    with lock:
        if result_path.exists():  # finished by the process we waited for
            if finished_elsewhere is not None:
                finished_elsewhere(result_path)
            return result_path
        return _train_locked(cfg, dist, run_dir, task, tokenizer, examples, counts, model,
                             init_hash, method, evaluator, identity, start_utc,
                             stop_after_steps=stop_after_steps, progress=progress)


def _tokenizer_for(cfg: RunConfig, task, run_dir: Path):
    """A tokenizer trained for this run is saved in its checkpoint; a resume reuses it rather
    than training again (the checkpointed weights were trained with exactly those ids)."""
    ckpt = run_dir / "checkpoint.pt"
    if trains_own_tokenizer(cfg) and ckpt.is_file():
        saved = read_checkpoint(ckpt, mmap=True).get("tokenizer")
        if saved is not None:
            return tokenizer_from_str(saved, str(ckpt))
    return build_tokenizer(cfg, task)


def _check_positions(model, examples, evaluator, tokenizer, eval_splits) -> None:
    """Before the first step: every training example and every evaluation prompt (plus its new
    tokens) fits the model's positions, so a bad split never fails after hours of training."""
    max_positions = max_positions_of(model)
    if max_positions is not None:
        longest = max(len(e.prompt_ids) + len(e.answer_ids) for e in examples)
        if longest > max_positions:
            raise ValueError(f"a training example has {longest} tokens, the model has "
                             f"{max_positions} positions: lower task.max_length")
    for split in eval_splits:
        evaluator.prepare(tokenizer, split, max_positions=max_positions)


def _train_locked(cfg, dist, run_dir, task, tokenizer, examples, counts, model, init_hash,
                  method, evaluator, identity, start_utc, *, stop_after_steps, progress) -> Path:
    result_path = run_dir / "result.json"
    tree = identity["config"]
    # a tokenizer trained for this run goes into its checkpoints (as it was before registers)
    own_tokenizer = (tokenizer.backend_tokenizer.to_str() if trains_own_tokenizer(cfg)
                     else None)
    method.prepare(model, tokenizer)
    if cfg.peft == "lora":
        from mutorbench.models.lora import apply_lora

        model = apply_lora(model, cfg.lora,
                           trainable_token_ids=method.trainable_token_ids())
    if cfg.precision == "bf16":
        model.to(torch.bfloat16)
    model.to(dist.device).train()
    compute_dtype = next(model.parameters()).dtype
    autocast = (torch.autocast(dist.device.type, dtype=torch.bfloat16)
                if cfg.precision == "bf16-autocast" else nullcontext())

    b = cfg.batch
    lengths = np.array([len(e.prompt_ids) + len(e.answer_ids) for e in examples])
    global_batch = b.micro_batch_size * b.grad_accumulation * dist.world
    sampler = OrderSampler(cfg.seed, len(examples), global_batch,
                           steps_per_epoch(len(examples), b.micro_batch_size, b.grad_accumulation,
                                           dist.world))
    plan = plan_budget(cfg.budget.kind, cfg.budget.amount, n_examples=len(examples),
                       micro_batch=b.micro_batch_size, accumulation=b.grad_accumulation,
                       world_size=dist.world, warmup_fraction=cfg.optim.warmup_fraction,
                       regular_tokens_of_step=lambda s: int(lengths[sampler.global_batch_at(s)].sum()))
    if cfg.export and cfg.parallel == "fsdp" and dist.world > 1:
        raise ValueError("export=true needs whole weights on one process: use parallel=ddp "
                         "(FSDP shards them)")
    trained = wrap(model, dist, cfg.parallel)  # FSDP shards in place: optimizer comes after
    optimizer, scheduler = build_optimizer(model, cfg.optim, plan)
    ckpt_path = run_dir / "checkpoint.pt"
    state = TrainState()
    if ckpt_path.exists():
        state = load_checkpoint(ckpt_path, model=model, optimizer=optimizer, scheduler=scheduler,
                                identity=identity)
    log_path = run_dir / "log.jsonl"
    if dist.is_main:  # under the run folder's lock: nobody else is writing here
        run_dir.mkdir(parents=True, exist_ok=True)
        _truncate_log(log_path, state.step)
        for stale in [*run_dir.glob("*.tmp"), *run_dir.glob(".*.tmp")]:  # of a killed run
            stale.unlink()
    # a sharded model's forward is collective: every process generates, rank 0 records
    evaluating = dist.is_main or is_sharded(model)

    suppress = method.suppress_ids()
    weights = method.loss_weights()
    names = sorted(weights)
    pad_id = tokenizer.pad_token_id
    bar = tqdm(total=plan.total_steps, initial=state.step, desc=f"{method.id} seed {cfg.seed}",
               unit="step", dynamic_ncols=True, mininterval=1.0,
               disable=not (progress and dist.is_main))

    for step in range(state.step, plan.total_steps):
        t0 = time.perf_counter()
        epoch = sampler.epoch_of(step)
        state.order_hash = chain_hash(state.order_hash, sampler.global_batch_at(step))
        micro = sampler.local_micro_batches(step, dist.rank, dist.world, b.grad_accumulation)
        batches = [method.build_batch([examples[i] for i in mb], pad_id=pad_id, epoch=epoch,
                                      dtype=compute_dtype).to(dist.device) for mb in micro]
        local = [sum(method.loss_counts(x)[n] for x in batches) for n in names]
        local += [sum(x.num_regular_tokens for x in batches),
                  sum(x.num_register_tokens for x in batches)]
        summed = dist.all_sum(local)
        global_counts = {n: int(c) for n, c in zip(names, summed)}
        numerators = dict.fromkeys(names, 0.0)
        for k, batch in enumerate(batches):
            with no_sync(trained, k < len(batches) - 1), autocast:
                terms = method.loss_terms(trained, batch)
                # DDP averages gradients over processes; the global normaliser needs the sum.
                loss = combine(terms, weights, global_counts) * dist.world
            loss.backward()
            for n in names:
                numerators[n] += float(terms[n].numerator.detach())
        parts = {n: v / max(global_counts[n], 1)
                 for n, v in zip(names, dist.all_sum([numerators[n] for n in names]))}
        total_loss = sum(weights[n] * parts[n] for n in names)
        clip = cfg.optim.grad_clip if cfg.optim.grad_clip is not None else float("inf")
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        grad_norm = float(grad_norm.full_tensor() if hasattr(grad_norm, "full_tensor") else grad_norm)
        lr = scheduler.get_last_lr()[0]
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)

        elapsed = time.perf_counter() - t0
        state.step = step + 1
        state.regular_tokens += int(summed[-2])
        state.register_tokens += int(summed[-1])
        state.train_seconds += elapsed
        state.step_times.append(elapsed)
        record = {"step": state.step, "epoch": state.step / plan.steps_per_epoch, "lr": lr,
                  "loss": total_loss, **{f"loss_{n}": v for n, v in parts.items()},
                  "grad_norm": grad_norm, "regular_tokens": int(summed[-2]),
                  "register_tokens": int(summed[-1]), "time_s": elapsed}
        if dist.is_main:
            append_line(log_path, json.dumps(record))
        bar.update(1)
        bar.set_postfix({k.removeprefix("loss_"): f"{record[k]:.3f}" for k in record
                         if k.startswith("loss")} | {
            "tok/s": f"{(state.regular_tokens + state.register_tokens) / state.train_seconds:.0f}"},
            refresh=False)

        epoch_end = state.step % plan.steps_per_epoch == 0 or state.step == plan.total_steps
        periodic = cfg.checkpoint_every_steps and state.step % cfg.checkpoint_every_steps == 0
        curve_point = cfg.eval.every_steps and state.step % cfg.eval.every_steps == 0
        if (epoch_end or curve_point) and evaluating:
            model.eval()
            for split in dict.fromkeys([cfg.eval.select_split, cfg.eval.report_split]):
                gen_log = (results.generations_path(run_dir, state.step, split)
                           if dist.is_main else None)
                values = evaluator(model, tokenizer, split, suppress_ids=suppress,
                                   log_path=gen_log, decode=method.decode,
                                   scoring_inputs=method.scoring_inputs)
                if dist.is_main:
                    state.checkpoints.append({"step": state.step,
                                              "epoch": state.step / plan.steps_per_epoch,
                                              "split": split, "values": values})
                    bar.write(f"step {state.step} (epoch {state.step / plan.steps_per_epoch:.2f})"
                              f" {split}: " + ", ".join(f"{k} {v:.2f}" for k, v in values.items()))
            model.train()
        if epoch_end or periodic or curve_point:  # a resumed run keeps its evaluations
            save_checkpoint(ckpt_path, model=model, optimizer=optimizer, scheduler=scheduler,
                            state=state, identity=identity, tokenizer=own_tokenizer,
                            write=dist.is_main)
        dist.barrier()
        if stop_after_steps is not None and state.step >= stop_after_steps:
            bar.close()
            raise Interrupted(f"stopped after {state.step} steps (test hook)")
    bar.close()

    if not dist.is_main:
        return result_path
    if cfg.export:  # the final weights, as the base architecture (no LoRA, heads or registers)
        from mutorbench.models.export import export_model

        bar.write(f"exported: {export_model(model, method, tokenizer, run_dir / 'model')}")
    warm = state.step_times[min(3, len(state.step_times) - 1):]
    memory, memory_kind = peak_memory(dist.device)
    data = {
        "schema_version": results.SCHEMA_VERSION,
        "kind": "train",
        "table": cfg.table, "cell": cfg.cell, "scale": cfg.scale,
        "method": {"id": method.id, "hyperparameters": method.hyperparameters()},
        "seed": cfg.seed, "config": tree,
        "budget": plan.as_dict() | {"steps_taken": state.step,
                                    "regular_tokens": state.regular_tokens,
                                    "register_tokens": state.register_tokens},
        "data": {"task": task.name, "sources": task.sources(), "counts": {"train": counts},
                 "content_hash": content_hash(examples), "order_hash": state.order_hash,
                 "split_hashes": identity["data"], "tokenizer_hash": identity["tokenizer"]},
        "init_weights_hash": init_hash,
        "metrics": {"checkpoints": state.checkpoints,
                    "selected": select(state.checkpoints, cfg.eval.selection, cfg.eval.metric,
                                       cfg.eval.select_split, cfg.eval.report_split)},
        "throughput": {
            "regular_tokens_per_s": state.regular_tokens / max(state.train_seconds, 1e-9),
            "register_tokens_per_s": state.register_tokens / max(state.train_seconds, 1e-9),
            "step_time_median_s": statistics.median(warm) if warm else 0.0,
            "peak_memory_bytes": memory, "peak_memory_kind": memory_kind,
            "device": str(dist.device), "threads": torch.get_num_threads(),
            "world_size": dist.world},
        "provenance": provenance(start_utc),
        "status": "complete",
    }
    results.write_result(result_path, data)
    _print_summary(data, result_path)
    return result_path


def _truncate_log(path: Path, step: int) -> None:
    """Drop log lines past the checkpoint we resume from (they will be recomputed)."""
    if not path.exists():
        return
    keep = []
    for line in path.read_text().splitlines():
        try:
            if json.loads(line)["step"] <= step:
                keep.append(line)
        except (ValueError, KeyError, TypeError):
            continue  # a line cut short by a kill: dropped, the step is recomputed
    atomic_write_text(path, "".join(line + "\n" for line in keep))


def _print_summary(data: dict, path: Path) -> None:
    b, t, m = data["budget"], data["throughput"], data["metrics"]
    print(f"\nsummary: {data['method']['id']} seed {data['seed']}: {b['steps_taken']} steps, "
          f"{b['regular_tokens']} regular + {b['register_tokens']} register tokens, "
          f"{t['regular_tokens_per_s'] + t['register_tokens_per_s']:.0f} tok/s")
    for cp in m["checkpoints"]:
        print(f"  step {cp['step']:>6}  epoch {cp['epoch']:.2f}  {cp['split']:<10} "
              + ", ".join(f"{k} {v:.2f}" for k, v in cp["values"].items()))
    print(f"  selected ({m['selected']['rule']}): {m['selected']['values']}")
    print(f"  result: {path}")
