"""Training-step throughput of a method, padded or packed: shared by `tox -e bench` (CPU) and the
prepared GPU benchmark (benchmarks/gpu_throughput.py).

A measurement is a fixed list of global batches (the suite's own data order over the given
examples), each step forward + backward + optimizer, timed after warm-up steps. Tokens/s counts
the tokens the step trains on (regular and register), never pad slots; ``padding`` is the share
of computed slots that hold no token; ``flops`` is the analytic forward x 3 of the shapes the
hardware computed (flops.py), so MFU = flops / time / peak.

Rates are medians of per-step rates: a GPU pays extra the first time it meets a shape (allocator
growth, kernel selection) and padded widths vary per step, so with a few steps a total-time mean
is dominated by those first meetings (seen on an H200: 3x between mean and median for padded
Gemma-2B steps). ``step_s_mean`` is kept beside the median to show that spread.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Sequence

import torch

from mutorbench.examples import Example
from mutorbench.flops import batch_flops, forward_flops
from mutorbench.methods.losses import combine
from mutorbench.methods.packing import pack
from mutorbench.train.sampler import OrderSampler


def random_examples(lengths: Sequence[tuple[int, int]], vocab: int, eos_id: int,
                    seed: int = 0) -> list[Example]:
    """Examples of the given (prompt, answer) token lengths, random ids (weights are random too)."""
    rng = random.Random(seed)
    return [Example(tuple(rng.randrange(3, vocab) for _ in range(p)),
                    tuple(rng.randrange(3, vocab) for _ in range(a - 1)) + (eos_id,), i)
            for i, (p, a) in enumerate(lengths)]


def global_batches(examples: list[Example], batch: int, steps: int, seed: int = 0):
    order = OrderSampler(seed, len(examples), batch, len(examples) // batch)
    return [[examples[i] for i in order.global_batch_at(s)] for s in range(steps)]


def _example_flops(config, batch) -> float:
    """Forward FLOPs of a packed batch counted per example: what a BlockMask lets flex compute."""
    return sum(forward_flops(config, int(n)) for row in batch.segment_ids.cpu()
               for n in torch.bincount(row[row >= 0]))


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


LAYOUTS = ("padded", "packed", "one row")


def measure(model, method, batches, *, pad_id: int, layout: str, micro_batch: int,
            warmup: int = 2, config=None) -> dict:
    """Step time, tokens/s, padding and FLOPs over ``batches`` (after ``warmup`` steps).

    ``layout``: ``padded`` (one example per row), ``packed`` (first fit into rows of the widest
    example) or ``one row`` (each micro-batch in a single row; for flex attention, whose BlockMask
    skips the blocks between examples, so the row's width costs no attention and no slot is
    padding; its FLOPs are then counted per example, as flex computes them, not over the row)."""
    if layout not in LAYOUTS:
        raise ValueError(f"layout {layout!r}: one of {', '.join(LAYOUTS)}")
    one_row = layout == "one row"
    device = next(model.parameters()).device
    dtype = next(model.parameters()).dtype
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5)
    weights = method.loss_weights()
    times, regular, register, slots, tokens, flops, work = [], [], [], 0, 0, [], 0.0
    for k, examples in enumerate(batches):
        micro = [method.build_batch(examples[s:s + micro_batch], pad_id=pad_id, dtype=dtype)
                 for s in range(0, len(examples), micro_batch)]
        if layout != "padded":
            micro = [pack(b, pad_id=pad_id, width=int(b.lengths.sum()) if one_row else None)
                     for b in micro]
        micro = [b.to(device) for b in micro]
        counts = {n: sum(method.loss_counts(b)[n] for b in micro) for n in weights}
        _sync(device)
        t0 = time.perf_counter()
        for b in micro:
            combine(method.loss_terms(model, b), weights, counts).backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        _sync(device)
        if k >= warmup:
            seconds = time.perf_counter() - t0
            times.append(seconds)
            regular.append(sum(b.num_regular_tokens for b in micro) / seconds)
            register.append(sum(b.num_register_tokens for b in micro) / seconds)
            slots += sum(b.input_ids.numel() for b in micro)
            tokens += sum(int(b.lengths.sum()) for b in micro)
            if config is not None:
                step_flops = 3 * sum(_example_flops(config, b) if one_row
                                     else batch_flops(config, *b.input_ids.shape) for b in micro)
                flops.append(step_flops / seconds)
                work += step_flops
    return {"step_s_median": statistics.median(times), "step_s_mean": statistics.fmean(times),
            "steps": len(times), "regular_tokens_per_s": statistics.median(regular),
            "register_tokens_per_s": statistics.median(register),
            "padding": 1.0 - tokens / slots,
            "flops_per_s": statistics.median(flops) if flops else 0.0,
            "flops_per_step": work / len(times)}
