"""Base of the tiny-scale tasks: deterministic generated (prompt, answer) pairs, three splits.

The data depend on ``data_seed`` only (fixed across run seeds, like a real dataset): the first
``train_examples`` pairs are train, then ``eval_examples`` test, then ``eval_examples`` validation.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from mutorbench.configbase import PositiveInt
from mutorbench.tasks.base import TaskBase, TaskConfig


class GeneratedConfig(TaskConfig):
    data_seed: int = 0  # generated data: fixed across run seeds, like a real dataset
    train_examples: PositiveInt = 2000
    eval_examples: PositiveInt = 128


@dataclass
class GeneratedTask(TaskBase):
    data_seed: int = 0
    train_examples: int = 2000
    eval_examples: int = 128
    name: str = "generated"
    metric: str = "exact"
    _pairs: list = field(default_factory=list, repr=False, compare=False)

    Config = GeneratedConfig

    @classmethod
    def from_config(cls, cfg):
        return cls(data_seed=cfg.data_seed, train_examples=cfg.train_examples,
                   eval_examples=cfg.eval_examples)

    def make(self, rng: random.Random) -> tuple[str, str]:
        raise NotImplementedError

    def sources(self) -> dict:
        return {"generator": type(self).__module__, "data_seed": self.data_seed,
                "train_examples": self.train_examples, "eval_examples": self.eval_examples}

    def texts(self, split: str) -> list[tuple[str, str]]:
        if not self._pairs:
            rng = random.Random(self.data_seed)
            self._pairs = [self.make(rng)
                           for _ in range(self.train_examples + 2 * self.eval_examples)]
        n, m = self.train_examples, self.eval_examples
        splits = {"train": self._pairs[:n], "test": self._pairs[n:n + m],
                  "validation": self._pairs[n + m:n + 2 * m]}
        if split not in splits:
            raise ValueError(f"task {self.name!r} has splits train, validation and test, "
                             f"not {split!r}")
        return splits[split]
