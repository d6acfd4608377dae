"""The three seams of the suite (torchtitan-style): tasks, methods and evaluators.

The training loop sees only these; it knows nothing about registers, heads or datasets.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import torch

from mutorbench.examples import Example
from mutorbench.methods.layout import ModelInputs
from mutorbench.methods.losses import LossTerm


@runtime_checkable
class Task(Protocol):
    """A dataset: its splits as texts and as token-level examples, and what scores it."""

    name: str

    def sources(self) -> dict:
        """Dataset ids / local paths / generator parameters and revisions (recorded in results)."""

    def texts(self, split: str) -> list[tuple[str, str]]:
        """(prompt, answer) strings of a split, templated as the paper's code did."""

    def tokenizer_corpus(self) -> list[str]:
        """Text a tiny-scale tokenizer is trained on (the training split)."""

    def examples(self, split: str, tokenizer, max_length: int) -> tuple[list[Example], dict]:
        """Token-level examples of a split (prompt ids, answer ids, metadata) and their counts."""


@runtime_checkable
class Method(Protocol):
    """A training objective: batches of examples in, named loss terms out; may add parameters."""

    id: str

    def hyperparameters(self) -> dict: ...

    def prepare(self, model, tokenizer) -> None: ...

    def suppress_ids(self) -> list[int]:
        """Token ids generation must never produce (e.g. MuToR's registers)."""

    def build_batch(
        self, examples: Sequence[Example], *, pad_id: int, epoch: int, dtype: torch.dtype
    ) -> ModelInputs: ...

    def loss_weights(self) -> dict[str, float]: ...

    def loss_counts(self, batch: ModelInputs) -> dict[str, int]: ...

    def loss_terms(self, model, batch: ModelInputs) -> dict[str, LossTerm]: ...


@runtime_checkable
class Evaluator(Protocol):
    """Scores a model on a split; returns its value keys (percent where the paper uses percent).

    ``expensive``: run only at ``eval.at_steps`` and the last step (train/schedule.py).
    """

    name: str
    expensive: bool

    def pairs(self, split: str) -> list[tuple[str, str]]:
        """What it scores of a split (all of it, or the first ``eval.limit``)."""

    def prepare(self, tokenizer, split: str, *, max_positions: int | None):
        """Everything checkable before the first training step (prompts fit the positions)."""

    def __call__(self, model, tokenizer, split: str, *, suppress_ids: Sequence[int] = (),
                 log_path=None, decode=None, scoring_inputs=None, probe=None) -> dict: ...
