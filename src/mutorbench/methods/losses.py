"""Cross-entropy over labelled slots and the two named loss reductions.

- ``per_example`` (default): token mean within each example, then mean over the examples that have
  at least one such token. This is what the paper's code effectively optimised (batch size 1 with
  gradient accumulation), independent of how examples are grouped into micro-batches.
- ``token``: token mean over the whole batch (longer answers weigh more).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from mutorbench.methods.layout import IGNORE_INDEX

REDUCTIONS = ("per_example", "token")


def check_reduction(reduction: str) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(f"unknown loss reduction {reduction!r}; expected one of {REDUCTIONS}")


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
    logits = model(**batch.model_kwargs(model.dtype), use_cache=False).logits
    return token_cross_entropy(logits, batch.labels)


def reduce(ce: torch.Tensor, select: torch.Tensor, reduction: str) -> torch.Tensor:
    """Reduce per-slot losses ``ce`` [B, L] over the slots in ``select`` [B, L] (bool)."""
    check_reduction(reduction)
    select = select.to(ce.dtype)
    if reduction == "token":
        return (ce * select).sum() / select.sum().clamp(min=1)
    count = select.sum(dim=1)
    per_example = (ce * select).sum(dim=1) / count.clamp(min=1)
    has_tokens = (count > 0).to(ce.dtype)
    return (per_example * has_tokens).sum() / has_tokens.sum().clamp(min=1)
