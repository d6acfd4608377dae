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
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from mutorbench import results
from mutorbench.evaluation.evaluator import build_evaluator, check_metric, metric_keys
from mutorbench.fsio import append_line, atomic_write_text, run_folder_lock
from mutorbench.methods.losses import combine
from mutorbench.methods.packing import pack
from mutorbench.models.adapters import adapter_for
from mutorbench.models.support import check_attention_device
from mutorbench.models.tokenizer import tokenizer_from_str, trains_own_tokenizer
from mutorbench.provenance import utc_now, weights_hash
from mutorbench.selection import select_by
from mutorbench.tasks import build_task
from mutorbench.tasks.base import content_hash, split_hashes, tokenizer_hash
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
from mutorbench.train.schedule import check_schedule, evaluation_due
from mutorbench.train.tracking import Trackers, check_trackers


class Interrupted(RuntimeError):
    """Raised by the test hook ``stop_after_steps``; behaves like a crash (no result written)."""


run_dir_of = results.train_run_dir  # the layout lives in results.py


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def peak_memory(device: torch.device) -> tuple[int, str]:
    if device.type == "cuda":
        return int(torch.cuda.max_memory_allocated(device)), "cuda_max_allocated"
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024, "cpu_rss"


@dataclass
class _Run:
    """Everything one training run holds, built in the order ``train`` reads top to bottom."""

    cfg: RunConfig
    dist: object
    run_dir: Path
    task: object
    tokenizer: object
    examples: list
    counts: dict
    model: torch.nn.Module
    init_hash: str
    method: object
    evaluator: object
    identity: dict  # config, split hashes, tokenizer hash: what a resume must match
    start_utc: str
    trained: torch.nn.Module | None = None  # the model as wrapped for several processes
    compute_dtype: torch.dtype = torch.float32
    autocast: object = field(default_factory=nullcontext)
    own_tokenizer: str | None = None  # a tokenizer trained for this run (kept in checkpoints)
    sampler: OrderSampler | None = None
    plan: object = None
    optimizer: object = None
    scheduler: object = None
    state: TrainState = field(default_factory=TrainState)
    loss_weights: dict[str, float] = field(default_factory=dict)  # the method's, fixed per run
    suppress_ids: list[int] = field(default_factory=list)  # never generated (registers)
    trackers: Trackers | None = None  # TensorBoard / W&B views of log.jsonl (rank 0)

    @property
    def loss_names(self) -> list[str]:
        return sorted(self.loss_weights)

    @property
    def checkpoint_path(self) -> Path:
        return self.run_dir / "checkpoint.pt"

    @property
    def log_path(self) -> Path:
        return self.run_dir / "log.jsonl"


def train(cfg: RunConfig, *, stop_after_steps: int | None = None, progress: bool = True,
          wait_for_lock: bool = False, finished_elsewhere=None) -> Path:
    """Train one arm; returns the result path. Resumes from the run folder's checkpoint if any.

    Everything that can be wrong with the input (config, data, tokenizer, lengths, metric names)
    fails before the run folder is touched. The folder is then locked for the whole run: a second
    process refuses, or with ``wait_for_lock`` waits and returns the result the first one wrote
    (after ``finished_elsewhere(path)``, which may refuse it).
    """
    result_path = run_dir_of(cfg) / results.RESULT_FILE
    if result_path.exists() and finished_elsewhere is not None:  # another process just finished
        finished_elsewhere(result_path)
        return result_path
    run = _build_run(cfg)
    lock = (run_folder_lock(run.run_dir, wait=wait_for_lock,
                            on_wait=lambda: print(f"waiting: {run.run_dir} is in use by another "
                                                  "process", flush=True))
            if run.dist.is_main else nullcontext())
    with lock:
        if result_path.exists():  # finished by the process we waited for
            if finished_elsewhere is not None:
                finished_elsewhere(result_path)
            return result_path
        _attach_method(run)
        _plan(run)
        _resume(run)
        if run.dist.is_main and cfg.logging.trackers:  # after resume: the run folder exists
            run.trackers = Trackers(cfg.logging.trackers, run.run_dir, run_name=run.run_dir.name,
                                    config=run.identity["config"])
        bar = tqdm(total=run.plan.total_steps, initial=run.state.step,
                   desc=f"{run.method.id} seed {cfg.seed}", unit="step", dynamic_ncols=True,
                   mininterval=1.0, disable=not (progress and run.dist.is_main))
        try:
            for step in range(run.state.step, run.plan.total_steps):
                _show(run, bar, _optimizer_step(run, step))
                _evaluate_and_checkpoint(run, bar)
                if stop_after_steps is not None and run.state.step >= stop_after_steps:
                    raise Interrupted(f"stopped after {run.state.step} steps (test hook)")
        finally:  # an interrupted run still flushes what it logged
            bar.close()
            if run.trackers is not None:
                run.trackers.close()
        return _finish(run, bar) if run.dist.is_main else result_path


def _build_run(cfg: RunConfig) -> _Run:
    """Read and check everything before the run folder is touched: a bad input never fails late."""
    start_utc = utc_now()
    dist = init_distributed()
    check_attention_device(cfg.model.attn_implementation, dist.device)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    seed_everything(cfg.seed)
    run_dir = run_dir_of(cfg)
    if (run_dir / results.RESULT_FILE).exists():
        raise ValueError(f"{run_dir / results.RESULT_FILE} exists: this run is complete "
                         "(choose another run_name)")
    check_trackers(cfg.logging.trackers)
    task = build_task(cfg.task)
    check_metric(cfg.eval.metric, metric_keys(task), task.name)
    # every split is read first: a missing dataset fails before any model download
    data_hashes = split_hashes(task, ["train", *cfg.eval.splits])
    tokenizer = _tokenizer_for(cfg, task, run_dir)
    examples, counts = task.examples("train", tokenizer, cfg.task.max_length)
    model = build_base_model(cfg, tokenizer, task)
    init_hash = weights_hash(model)  # before the method adds anything
    method = build_method(cfg.method, seed=cfg.seed)
    evaluator = build_evaluator(task, cfg.eval, method.prefix_attention, seed=cfg.seed)
    _check_positions(model, examples, evaluator, tokenizer, cfg.eval.splits)
    identity = {"config": config_tree(cfg), "data": data_hashes,
                "tokenizer": tokenizer_hash(tokenizer)}
    run = _Run(cfg, dist, run_dir, task, tokenizer, examples, counts, model, init_hash, method,
               evaluator, identity, start_utc)
    _plan_steps(run)
    return run


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
    max_positions = adapter_for(model).max_positions(model)
    if max_positions is not None:
        longest = max(len(e.prompt_ids) + len(e.answer_ids) for e in examples)
        if longest > max_positions:
            raise ValueError(f"a training example has {longest} tokens, the model has "
                             f"{max_positions} positions: lower task.max_length")
    for split in eval_splits:
        evaluator.prepare(tokenizer, split, max_positions=max_positions)


def _attach_method(run: _Run) -> None:
    """The method's additions (registers, heads), LoRA, precision and device."""
    cfg = run.cfg
    # a tokenizer trained for this run goes into its checkpoints (as it was before registers)
    run.own_tokenizer = (run.tokenizer.backend_tokenizer.to_str() if trains_own_tokenizer(cfg)
                         else None)
    run.method.prepare(run.model, run.tokenizer)
    run.loss_weights, run.suppress_ids = run.method.loss_weights(), run.method.suppress_ids()
    _check_pack_width(run)
    if cfg.peft == "lora":
        from mutorbench.models.lora import apply_lora

        run.model = apply_lora(run.model, cfg.lora,
                               trainable_token_ids=run.method.trainable_token_ids())
    if cfg.precision == "bf16":
        run.model.to(torch.bfloat16)
    run.model.to(run.dist.device).train()
    run.compute_dtype = next(run.model.parameters()).dtype
    if cfg.precision == "bf16-autocast":
        run.autocast = torch.autocast(run.dist.device.type, dtype=torch.bfloat16)


def _check_pack_width(run: _Run) -> None:
    """Before the first step: the longest examples' layouts (registers included) fit a row."""
    b = run.cfg.batch
    if b.packing and b.pack_width is not None:
        longest = sorted(run.examples, key=lambda e: len(e.prompt_ids) + len(e.answer_ids))[-64:]
        widest = int(run.method.build_batch(longest, pad_id=0).lengths.max())
        if widest > b.pack_width:
            raise ValueError(f"batch.pack_width={b.pack_width} is narrower than the longest "
                             f"example's layout ({widest} slots with {run.method.id})")


def _plan_steps(run: _Run) -> None:
    """Data order, the budget in steps and the evaluation schedule (checked: still before the
    run folder is touched)."""
    cfg, b, world = run.cfg, run.cfg.batch, run.dist.world
    lengths = np.array([len(e.prompt_ids) + len(e.answer_ids) for e in run.examples])
    run.sampler = OrderSampler(cfg.seed, len(run.examples),
                               b.micro_batch_size * b.grad_accumulation * world,
                               steps_per_epoch(len(run.examples), b.micro_batch_size,
                                               b.grad_accumulation, world))
    run.plan = plan_budget(
        cfg.budget.kind, cfg.budget.amount, n_examples=len(run.examples),
        micro_batch=b.micro_batch_size, accumulation=b.grad_accumulation, world_size=world,
        warmup_fraction=cfg.optim.warmup_fraction,
        regular_tokens_of_step=lambda s: int(lengths[run.sampler.global_batch_at(s)].sum()))
    check_schedule(cfg.eval, run.plan.total_steps)
    if cfg.export and cfg.parallel == "fsdp" and world > 1:
        raise ValueError("export=true needs whole weights on one process: use parallel=ddp "
                         "(FSDP shards them)")



def _plan(run: _Run) -> None:
    """Process wrapping, optimizer and learning-rate schedule."""
    run.trained = wrap(run.model, run.dist, run.cfg.parallel)  # FSDP shards in place: then optim
    run.optimizer, run.scheduler = build_optimizer(run.model, run.cfg.optim, run.plan)


def _resume(run: _Run) -> None:
    """Continue from the checkpoint (checked to be this run's), drop what came after it."""
    if run.checkpoint_path.exists():
        run.state = load_checkpoint(run.checkpoint_path, model=run.model,
                                    optimizer=run.optimizer, scheduler=run.scheduler,
                                    identity=run.identity)
    if run.dist.is_main:  # under the run folder's lock: nobody else is writing here
        run.run_dir.mkdir(parents=True, exist_ok=True)
        _truncate_log(run.log_path, run.state.step)
        for stale in [*run.run_dir.glob("*.tmp"), *run.run_dir.glob(".*.tmp")]:  # a killed run's
            stale.unlink()


def _optimizer_step(run: _Run, step: int) -> dict:
    """One optimizer step over the global batch of ``step``; returns its log record."""
    t0 = time.perf_counter()
    method, dist, state = run.method, run.dist, run.state
    weights, names = run.loss_weights, run.loss_names
    epoch, task, seed = run.sampler.epoch_of(step), run.task, run.cfg.seed
    global_batch = run.sampler.global_batch_at(step)
    state.order_hash = chain_hash(state.order_hash, global_batch)
    choices = {}  # what each access saw (augmentation, label drop): drawn once, is data order
    if task.views_per_access:
        seen = task.view_choices([run.examples[i] for i in global_batch], seed=seed, epoch=epoch)
        choices = dict(zip(global_batch, seen))
        state.order_hash = chain_hash(state.order_hash, np.asarray(seen, dtype=np.int64).ravel())
    micro = run.sampler.local_micro_batches(step, dist.rank, dist.world,
                                            run.cfg.batch.grad_accumulation)
    batches = [_packed(run, method.build_batch(task.view([run.examples[i] for i in mb],
                                                         seed=seed, epoch=epoch,
                                                         choices=[choices.get(i) for i in mb]),
                                               pad_id=run.tokenizer.pad_token_id, epoch=epoch,
                                               dtype=run.compute_dtype)).to(dist.device)
               for mb in micro]
    local = [sum(method.loss_counts(x)[n] for x in batches) for n in names]
    local += [sum(x.num_regular_tokens for x in batches),
              sum(x.num_register_tokens for x in batches)]
    summed = dist.all_sum(local)
    global_counts = {n: int(c) for n, c in zip(names, summed)}
    numerators = dict.fromkeys(names, 0.0)
    for k, batch in enumerate(batches):
        with no_sync(run.trained, k < len(batches) - 1), run.autocast:
            terms = method.loss_terms(run.trained, batch)
            # DDP averages gradients over processes; the global normaliser needs the sum.
            loss = combine(terms, weights, global_counts) * dist.world
        loss.backward()
        for n in names:
            numerators[n] += float(terms[n].numerator.detach())
    parts = {n: v / max(global_counts[n], 1)
             for n, v in zip(names, dist.all_sum([numerators[n] for n in names]))}
    clip = run.cfg.optim.grad_clip if run.cfg.optim.grad_clip is not None else float("inf")
    grad_norm = torch.nn.utils.clip_grad_norm_(run.model.parameters(), clip)
    grad_norm = float(grad_norm.full_tensor() if hasattr(grad_norm, "full_tensor") else grad_norm)
    lr = run.scheduler.get_last_lr()[0]
    run.optimizer.step()
    run.scheduler.step()
    run.optimizer.zero_grad(set_to_none=True)
    elapsed = time.perf_counter() - t0
    state.step = step + 1
    state.regular_tokens += int(summed[-2])
    state.register_tokens += int(summed[-1])
    state.train_seconds += elapsed
    state.step_times.append(elapsed)
    return {"step": state.step, "epoch": state.step / run.plan.steps_per_epoch, "lr": lr,
            "loss": sum(weights[n] * parts[n] for n in names),
            **{f"loss_{n}": v for n, v in parts.items()}, "grad_norm": grad_norm,
            "regular_tokens": int(summed[-2]), "register_tokens": int(summed[-1]),
            "time_s": elapsed}


def _packed(run: _Run, batch):
    """The micro-batch as built, or packed (batch.packing): offsets are drawn before packing."""
    b = run.cfg.batch
    if not b.packing:
        return batch
    return pack(batch, pad_id=run.tokenizer.pad_token_id, width=b.pack_width)


def _show(run: _Run, bar, record: dict) -> None:
    """The step's log line (rank 0) and the progress bar: losses and tokens/s."""
    if run.dist.is_main:
        append_line(run.log_path, json.dumps(record))
        if run.trackers is not None:
            run.trackers.log_step(record)
    state = run.state
    bar.update(1)
    bar.set_postfix({k.removeprefix("loss_"): f"{record[k]:.3f}" for k in record
                     if k.startswith("loss")} | {
        "tok/s": f"{(state.regular_tokens + state.register_tokens) / state.train_seconds:.0f}"},
        refresh=False)


def _evaluate_and_checkpoint(run: _Run, bar) -> None:
    """When the schedule says so (train/schedule.py): evaluate both splits; then checkpoint (at
    epoch ends and every ``checkpoint_every_steps`` too), so a resumed run keeps its evaluations."""
    cfg, state, dist = run.cfg, run.state, run.dist
    epoch_end = state.step % run.plan.steps_per_epoch == 0 or state.step == run.plan.total_steps
    periodic = cfg.checkpoint_every_steps and state.step % cfg.checkpoint_every_steps == 0
    due = evaluation_due(state.step, steps_per_epoch=run.plan.steps_per_epoch,
                         total_steps=run.plan.total_steps, eval_cfg=cfg.eval,
                         expensive=run.evaluator.expensive)
    # a sharded model's forward is collective: every process generates, rank 0 records
    if due and (dist.is_main or is_sharded(run.model)):
        run.model.eval()
        epoch = state.step / run.plan.steps_per_epoch
        for split in cfg.eval.splits:
            values = run.evaluator(
                run.model, run.tokenizer, split, suppress_ids=run.suppress_ids,
                log_path=(results.generations_path(run.run_dir, state.step, split)
                          if dist.is_main else None),
                decode=run.method.decode, scoring_inputs=run.method.scoring_inputs,
                probe=run.method.probe_registers)
            if dist.is_main:
                state.checkpoints.append({"step": state.step, "epoch": epoch, "split": split,
                                          "values": values})
                if run.trackers is not None:
                    run.trackers.log_eval(state.step, split, values)
                bar.write(f"step {state.step} (epoch {epoch:.2f}) {split}: "
                          + ", ".join(f"{k} {v:.2f}" for k, v in values.items()))
        run.model.train()
    if due or epoch_end or periodic:
        save_checkpoint(run.checkpoint_path, model=run.model, optimizer=run.optimizer,
                        scheduler=run.scheduler, state=state, identity=run.identity,
                        tokenizer=run.own_tokenizer, write=dist.is_main)
    dist.barrier()


def _finish(run: _Run, bar) -> Path:
    """Export (if asked), then the result: written once, atomically, only for a finished run."""
    cfg, state = run.cfg, run.state
    if cfg.export:  # the final weights, as the base architecture (no LoRA, heads or registers)
        from mutorbench.models.export import export_model

        path = export_model(run.model, run.method, run.tokenizer, run.run_dir / "model")
        bar.write(f"exported: {path}")
    warm = state.step_times[min(3, len(state.step_times) - 1):]
    memory, memory_kind = peak_memory(run.dist.device)
    data = results.assemble(
        cfg, kind="train", config=run.identity["config"], start_utc=run.start_utc,
        method={"id": run.method.id, "hyperparameters": run.method.hyperparameters()},
        budget=run.plan.as_dict() | {"steps_taken": state.step,
                                     "regular_tokens": state.regular_tokens,
                                     "register_tokens": state.register_tokens},
        data={"task": run.task.name, "sources": run.task.sources(),
              "counts": {"train": run.counts}, "content_hash": content_hash(run.examples),
              "order_hash": state.order_hash, "split_hashes": run.identity["data"],
              "tokenizer_hash": run.identity["tokenizer"]},
        init_weights_hash=run.init_hash,
        metrics={"checkpoints": state.checkpoints,
                 "selected": select_by(state.checkpoints, cfg.eval)},
        throughput={
            "regular_tokens_per_s": state.regular_tokens / max(state.train_seconds, 1e-9),
            "register_tokens_per_s": state.register_tokens / max(state.train_seconds, 1e-9),
            "step_time_median_s": statistics.median(warm) if warm else 0.0,
            "peak_memory_bytes": memory, "peak_memory_kind": memory_kind,
            "device": str(run.dist.device), "threads": torch.get_num_threads(),
            "world_size": run.dist.world})
    result_path = run.run_dir / results.RESULT_FILE
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
