"""Cross-entropy over labelled slots, the two named reductions, and exact normalisation.

- ``per_example`` (default): token mean within each example, then mean over the examples that have
  at least one such token. This is what the paper's code effectively optimised (batch size 1 with
  gradient accumulation), independent of how examples are grouped into micro-batches.
- ``token``: token mean over the whole batch (longer answers weigh more).

A loss part is kept as a :class:`LossTerm` (numerator, count) so that the training loop can
normalise by the count of the *global* batch — across gradient-accumulation micro-batches and
data-parallel ranks — and get exactly the loss of one big batch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from mutorbench.methods.layout import IGNORE_INDEX

REDUCTIONS = ("per_example", "token")


def check_reduction(reduction: str) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(f"unknown loss reduction {reduction!r}; expected one of {REDUCTIONS}")


@dataclass
class LossTerm:
    numerator: torch.Tensor  # per_example: sum of example means; token: sum of token losses
    count: int  # per_example: examples with >= 1 selected token; token: selected tokens

    @property
    def value(self) -> torch.Tensor:
        return self.numerator / max(self.count, 1)


def token_cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """[B, L] float32 cross-entropy, 0 where the label is ignored.

    Only labelled slots are upcast to float32, so the full [B, L, V] logits are never copied.
    """
    labelled = labels != IGNORE_INDEX
    ce = torch.zeros(labels.shape, dtype=torch.float32, device=logits.device)
    ce[labelled] = F.cross_entropy(logits[labelled].float(), labels[labelled], reduction="none")
    return ce


def forward_token_losses(model, batch) -> torch.Tensor:
    """Run ``model`` on a built batch and return its [B, L] per-slot cross-entropy."""
    logits = model(**batch.kwargs_for(model), use_cache=False).logits
    return token_cross_entropy(logits, batch.labels)


def _per_example(values: torch.Tensor, segments: torch.Tensor | None) -> torch.Tensor:
    """Row sums of ``values`` [B, L], or sums per example of packed rows (``segments``)."""
    if segments is None:
        return values.sum(dim=1)
    ids = segments.clamp(min=0).flatten()  # padding (-1) carries no selected slot
    return values.new_zeros(int(segments.max()) + 1).index_add(0, ids, values.flatten())


def count(select: torch.Tensor, reduction: str, segments: torch.Tensor | None = None) -> int:
    """The normaliser of a part, known before any forward pass (``segments``: packed rows)."""
    check_reduction(reduction)
    if reduction == "token":
        return int(select.sum())
    return int((_per_example(select.long(), segments) > 0).sum())


def term(ce: torch.Tensor, select: torch.Tensor, reduction: str,
         segments: torch.Tensor | None = None) -> LossTerm:
    """Per-slot losses ``ce`` [B, L] over the slots in ``select`` [B, L] (bool), unnormalised.

    ``segments`` (packed rows): the example of each slot, so that ``per_example`` still means per
    example and not per row."""
    n = count(select, reduction, segments)
    select = select.to(ce.dtype)
    if reduction == "token":
        return LossTerm((ce * select).sum(), n)
    per_example = (_per_example(ce * select, segments)
                   / _per_example(select, segments).clamp(min=1))
    return LossTerm(per_example.sum(), n)


def reduce(ce: torch.Tensor, select: torch.Tensor, reduction: str) -> torch.Tensor:
    """The normalised loss of one batch."""
    return term(ce, select, reduction).value


def combine(
    terms: Mapping[str, LossTerm],
    weights: Mapping[str, float],
    counts: Mapping[str, int] | None = None,
) -> torch.Tensor:
    """Σ_part weight · numerator / count; ``counts`` overrides with the global batch's counts."""
    total = 0.0
    for name, t in terms.items():
        n = t.count if counts is None else counts[name]
        total = total + weights[name] * t.numerator / max(n, 1)
    return total
