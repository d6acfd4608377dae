"""Batched greedy decoding with a bidirectional (or causal) prompt prefill and a KV cache.

transformers' ``generate`` accepts only 2-D masks, so the prompt is prefilled by hand with our 4-D
mask (prompt tokens see the whole prompt under the paper's bidirectional prefix; a BlockMask for a
flex-attention model), then decoding continues token by token from the cache. Prompts are
left-padded so every row's last prompt token is at the same slot; pad slots are invisible to every
real query.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence

import torch
from transformers import DynamicCache

from mutorbench import masks
from mutorbench.models.adapters import adapter_for


def _left_pad(prompts: Sequence[Sequence[int]], pad_id: int):
    lengths = torch.tensor([len(p) for p in prompts], dtype=torch.long)
    width = int(lengths.max())
    ids = torch.full((len(prompts), width), pad_id, dtype=torch.long)
    for b, p in enumerate(prompts):  # one row copy per example; tokens are copied in C
        ids[b, width - len(p):] = torch.tensor(p, dtype=torch.long)
    start = (width - lengths)[:, None]  # first real slot of each row
    return ids, lengths, start


def _cache_kwarg(model) -> str:
    """transformers renamed ``past_key_values`` to ``cache`` in 5.x; use whichever forward takes.

    A peft model's forward takes both (and passes them on): ask the wrapped model's.
    """
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    return "cache" if "cache" in inspect.signature(base.forward).parameters else "past_key_values"


@torch.no_grad()
def greedy_generate(
    model,
    prompts: Sequence[Sequence[int]],
    *,
    max_new_tokens: int,
    eos_id: int,
    pad_id: int,
    prefix_attention: str = "bidirectional",
    suppress_ids: Sequence[int] = (),
) -> list[list[int]]:
    """Greedy continuations (EOS excluded) for a batch of prompts.

    ``suppress_ids`` are never generated (MuToR passes its register ids here).
    """
    masks.check_prefix_mode(prefix_attention)
    if not prompts or any(len(p) == 0 for p in prompts):
        raise ValueError("every prompt needs at least one token")
    if max_new_tokens < 1:
        raise ValueError(f"max_new_tokens must be >= 1, got {max_new_tokens}")
    max_pos = adapter_for(model).max_positions(model)
    longest = max(len(p) for p in prompts) + max_new_tokens
    if max_pos is not None and longest > max_pos:
        raise ValueError(
            f"prompt length + max_new_tokens = {longest} exceeds the model's "
            f"max_position_embeddings = {max_pos}"
        )
    device = next(model.parameters()).device
    dtype = next(model.parameters()).dtype
    if not dtype.is_floating_point:
        dtype = torch.float32

    ids, lengths, start = _left_pad(prompts, pad_id)
    B, width = ids.shape
    slot = torch.arange(width)[None, :]
    real = slot >= start
    free = (slot - start).clamp(min=0)  # register-free index of each prompt slot
    key_index = torch.where(real, free, masks.NEVER_VISIBLE)
    horizon = torch.where(real, masks.prompt_horizon(free, lengths[:, None], prefix_attention), -1)
    attention = masks.attention_of(model)
    prefill_mask = masks.mask_for(attention, key_index.to(device), horizon.to(device), dtype=dtype)

    cache = {_cache_kwarg(model): DynamicCache(config=model.config)}  # filled in place
    out = model(
        input_ids=ids.to(device),
        position_ids=free.to(device),
        attention_mask=prefill_mask,
        use_cache=True,
        **cache,
    )
    keys_visible = real.to(device)
    suppress = torch.tensor(list(suppress_ids), dtype=torch.long, device=device)
    finished = torch.zeros(B, dtype=torch.bool, device=device)
    generated = []
    logits = out.logits[:, -1, :]
    for step in range(max_new_tokens):
        if suppress.numel():
            logits = logits.index_fill(-1, suppress, torch.finfo(logits.dtype).min)
        token = logits.argmax(dim=-1)
        token = torch.where(finished, pad_id, token)
        generated.append(token)
        finished |= token == eos_id
        if bool(finished.all()) or step == max_new_tokens - 1:
            break
        keys_visible = torch.cat([keys_visible, torch.ones(B, 1, dtype=torch.bool, device=device)], 1)
        step_mask = (masks.keys_block_mask(keys_visible) if attention == "flex_attention"
                     else masks.additive_mask(keys_visible[:, None, :], dtype))
        out = model(
            input_ids=token[:, None],
            position_ids=(lengths.to(device) + step)[:, None],
            attention_mask=step_mask,
            use_cache=True,
            **cache,
        )
        logits = out.logits[:, -1, :]

    tokens = torch.stack(generated, dim=1).tolist()
    result = []
    for row in tokens:
        result.append(row[: row.index(eos_id)] if eos_id in row else row)
    return result
