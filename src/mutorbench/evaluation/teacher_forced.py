"""Teacher-forced per-token accuracy: how often the argmax after the TRUE prefix is the next token.

On the star graph this separates what next-token training learns (every token but the decisive one
follows from the previous: high teacher-forced accuracy) from what it can do (greedy solve rate).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from mutorbench.examples import Example
from mutorbench.methods.layout import IGNORE_INDEX
from mutorbench.methods.ntp import build_ntp_inputs


@torch.no_grad()
def token_accuracies(model, tokenizer, examples: Sequence[Example], *, drop_eos: bool = True,
                     batch_size: int = 32, prefix_attention: str = "bidirectional",
                     build_inputs: Callable | None = None) -> list[float]:
    """Per example: percent of answer tokens (EOS excluded: ``drop_eos``) that are the argmax
    after the true prefix, under next-token inputs and the evaluation's prefix attention.

    ``build_inputs`` (same signature as ``build_ntp_inputs``) scores another arm on the inputs it
    was trained on: teacherless sees dummies, not the true prefix, so its score is the per-token
    accuracy of its parallel decoding."""
    build_inputs = build_inputs or build_ntp_inputs
    device = next(model.parameters()).device
    out: list[float] = []
    for s in range(0, len(examples), batch_size):
        chunk = examples[s:s + batch_size]
        batch = build_inputs([e.prompt_ids for e in chunk],
                             [e.answer_ids[:-1] if drop_eos else e.answer_ids for e in chunk],
                             pad_id=tokenizer.pad_token_id, prefix_attention=prefix_attention)
        pred = model(**batch.to(device).kwargs_for(model)).logits.argmax(-1).cpu()
        scored = batch.labels != IGNORE_INDEX
        hits = (pred == batch.labels) & scored
        out += (100.0 * hits.sum(1) / scored.sum(1).clamp(min=1)).tolist()
    return out
