"""What a trained register predicts: per example, is the register aimed at answer token ``t`` right?

A diagnostic of why a MuToR arm escapes a shortcut or not (star graph: does the register that sees
only the prompt predict the decisive node, the one next-token training leaves at chance?). The
registers are laid out as in training (one before every answer token, one offset ``d`` for the
whole batch); register ``j`` predicts answer token ``j - 1 + d``, so the register aimed at ``t`` is
``j = t - d + 1``: a larger ``d`` is a register that sees fewer answer tokens.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from mutorbench.examples import Example
from mutorbench.methods.mutor import build_mutor_inputs


def register_position(prompt_len: int, target: int, d: int) -> int:
    """Sequence slot of the register aimed at answer token ``target`` with offset ``d``
    (the layout is prompt, then pairs (register, answer token): register j sits at P + 2j)."""
    j = target - d + 1
    if j < 0:
        raise ValueError(f"no register with offset d={d} predicts answer token {target}")
    return prompt_len + 2 * j


@torch.no_grad()
def register_hits(model, examples: Sequence[Example], *, target: int, d: int, register_id,
                  pad_id: int, prefix_attention: str, suppress_ids: Sequence[int] = (),
                  batch_size: int = 256) -> list[bool]:
    """Per example: the argmax of the register aimed at answer token ``target`` (offset ``d``)
    equals that token. Every example needs ``target < len(answer)``."""
    device = next(model.parameters()).device
    hits: list[bool] = []
    for s in range(0, len(examples), batch_size):
        chunk = examples[s:s + batch_size]
        for e in chunk:
            if target >= len(e.answer_ids):
                raise ValueError(f"example {e.index}: answer has {len(e.answer_ids)} tokens, "
                                 f"no token {target} to probe")
        batch = build_mutor_inputs([e.prompt_ids for e in chunk], [e.answer_ids for e in chunk],
                                   offsets=[d] * len(chunk), register_id=register_id,
                                   pad_id=pad_id, prefix_attention=prefix_attention)
        rows = torch.arange(len(chunk))
        slots = torch.tensor([register_position(len(e.prompt_ids), target, d) for e in chunk])
        logits = model(**batch.to(device).kwargs_for(model)).logits
        logits = logits[rows.to(device), slots.to(device)].float().cpu()  # the probed slots only
        if suppress_ids:
            logits[..., list(suppress_ids)] = torch.finfo(logits.dtype).min
        want = torch.tensor([e.answer_ids[target] for e in chunk])
        # the layout's own label at that slot is the same token: the slot is the right register
        assert bool(batch.is_register[rows, slots].all()) and bool(
            (batch.labels[rows, slots] == want).all()), "register slot does not match the layout"
        hits += (logits.argmax(-1) == want).tolist()
    return hits
