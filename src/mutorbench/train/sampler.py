"""The data order: a function of (seed, epoch) only, identical for every method and process count.

Epoch e visits a permutation of the training examples drawn from numpy's PCG64 seeded with
(seed, e). Step s takes the s-th global batch of its epoch; each process takes its own slice of that
global batch, so the union over processes is the same for any world size.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

import numpy as np

_ORDER_STREAM = 0x6F72_6465  # keeps the order stream apart from other (seed, epoch) draws


class OrderSampler:
    def __init__(self, seed: int, n_examples: int, global_batch: int, steps_per_epoch: int):
        self.seed, self.n, self.global_batch, self.steps_per_epoch = (
            seed, n_examples, global_batch, steps_per_epoch)

    @lru_cache(maxsize=4)  # noqa: B019 (a few epochs cached per sampler; samplers are few)
    def permutation(self, epoch: int) -> np.ndarray:
        return np.random.default_rng([_ORDER_STREAM, self.seed, epoch]).permutation(self.n)

    def epoch_of(self, step: int) -> int:
        return step // self.steps_per_epoch

    def global_batch_at(self, step: int) -> list[int]:
        epoch, within = divmod(step, self.steps_per_epoch)
        start = within * self.global_batch
        return self.permutation(epoch)[start:start + self.global_batch].tolist()

    def local_micro_batches(self, step: int, rank: int, world: int, accumulation: int):
        """This process's micro-batches of global step ``step`` (contiguous slices)."""
        batch = self.global_batch_at(step)
        per_rank = len(batch) // world
        mine = batch[rank * per_rank:(rank + 1) * per_rank]
        micro = per_rank // accumulation
        return [mine[i * micro:(i + 1) * micro] for i in range(accumulation)]


def chain_hash(previous: str, indices: list[int]) -> str:
    """Running hash of the consumed example-index sequence (resumable: just a hex string)."""
    h = hashlib.sha256(previous.encode())
    h.update(np.asarray(indices, dtype=np.int64).tobytes())
    return h.hexdigest()
