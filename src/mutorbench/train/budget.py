"""Training budgets, computed from the data and the batch geometry (never hard-coded).

steps per epoch = floor(N / (micro-batch x accumulation x world size)) — the last partial global
batch is dropped, as the paper's Trainer did; warmup = ceil(warmup_fraction x total steps).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Plan:
    kind: str
    amount: float
    global_batch: int
    steps_per_epoch: int
    total_steps: int
    warmup_steps: int

    def as_dict(self) -> dict:
        return asdict(self)


def steps_per_epoch(n_examples: int, micro_batch: int, accumulation: int, world_size: int) -> int:
    global_batch = micro_batch * accumulation * world_size
    steps = n_examples // global_batch
    if steps < 1:
        raise ValueError(
            f"{n_examples} training examples do not fill one global batch of {global_batch} "
            f"(micro-batch {micro_batch} x accumulation {accumulation} x world size {world_size})"
        )
    return steps


def warmup_steps(total_steps: int, warmup_fraction: float) -> int:
    # round first: 0.1 * 3735 is 373.50000000000006 in floating point, and ceil must see 373.5
    return math.ceil(round(warmup_fraction * total_steps, 9))


def plan_budget(
    kind: str,
    amount: float,
    *,
    n_examples: int,
    micro_batch: int,
    accumulation: int,
    world_size: int,
    warmup_fraction: float,
    regular_tokens_of_step: Callable[[int], int] | None = None,
) -> Plan:
    """Total optimizer steps for an ``epochs``, ``steps`` or ``tokens`` budget.

    ``tokens`` counts regular (register-free) tokens of the global batches in data order, so two
    arms with the same seed and data get the same number of steps and of regular tokens.
    """
    if amount <= 0:
        raise ValueError(f"budget amount must be positive, got {amount}")
    per_epoch = steps_per_epoch(n_examples, micro_batch, accumulation, world_size)
    if kind == "epochs":
        total = round(amount * per_epoch)
    elif kind == "steps":
        if amount != int(amount):
            raise ValueError(f"a steps budget must be a whole number, got {amount}")
        total = int(amount)
    elif kind == "tokens":
        if regular_tokens_of_step is None:
            raise ValueError("a tokens budget needs the data's token counts")
        total, seen = 0, 0
        while seen < amount:
            seen += regular_tokens_of_step(total)
            total += 1
    else:
        raise ValueError(f"unknown budget kind {kind!r}; expected epochs, steps or tokens")
    total = max(1, total)
    return Plan(kind, amount, micro_batch * accumulation * world_size, per_epoch, total,
                warmup_steps(total, warmup_fraction))
