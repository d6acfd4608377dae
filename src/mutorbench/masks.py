"""Attention-mask algebra shared by every method.

Every layout in this project (prompt + answer, with or without registers, padded) reduces to one rule:
a query slot q may attend to a key slot k iff ``key_index[k] <= horizon[q]`` or ``k == q``.

- ``key_index``: the register-free index of a *regular* token; registers and padding get
  ``NEVER_VISIBLE`` so that no other slot can see them (paper rule: regular tokens are blind to
  registers, registers never see other registers).
- ``horizon``: the last register-free index the query may see. A causal token sees up to itself; a
  prompt token under bidirectional prefix attention sees the whole prompt; a register placed after
  x_t sees up to t. Padding gets ``-1`` so it sees only itself (no fully masked row, hence no NaN).
- ``segment_ids`` (packed rows, methods/packing.py): a slot sees only slots of its own example.

The rule is O(L) per row. ``additive_mask`` expands it into the dense [B, 1, L, L] mask that sdpa
and eager attention take; ``block_mask`` into flex attention's BlockMask, whose kernel evaluates
the rule per block and never holds an L x L tensor.
"""

from __future__ import annotations

import torch

NEVER_VISIBLE = torch.iinfo(torch.long).max
PREFIX_MODES = ("bidirectional", "causal")


def check_prefix_mode(prefix_attention: str) -> None:
    if prefix_attention not in PREFIX_MODES:
        raise ValueError(
            f"unknown prefix_attention {prefix_attention!r}; expected one of {PREFIX_MODES}"
        )


def check_mask_dtype(dtype: torch.dtype) -> None:
    if not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
        raise ValueError(f"attention-mask dtype must be a floating dtype, got {dtype!r}")


def visibility(key_index: torch.Tensor, horizon: torch.Tensor,
               segment_ids: torch.Tensor | None = None, *, causal: bool = False) -> torch.Tensor:
    """Boolean [B, Q, K] visibility from per-slot ``key_index`` [B, K] and ``horizon`` [B, Q];
    ``segment_ids`` [B, L]: only within an example; ``causal``: also key slot <= query slot."""
    allowed = key_index[:, None, :] <= horizon[:, :, None]
    if segment_ids is not None:
        allowed &= segment_ids[:, None, :] == segment_ids[:, :, None]
    Q, K = horizon.shape[1], key_index.shape[1]
    if causal:
        allowed &= torch.ones(Q, K, dtype=torch.bool, device=key_index.device).tril()
    if Q == K:
        allowed |= torch.eye(K, dtype=torch.bool, device=key_index.device)
    return allowed


def block_mask(key_index: torch.Tensor, horizon: torch.Tensor,
               segment_ids: torch.Tensor | None = None, *, causal: bool = False):
    """The same rule as ``visibility`` (square: queries are the key slots) as a flex-attention
    BlockMask, on the tensors' device. Building it evaluates the rule once over [B, L, L] booleans
    (transient, uncompiled: it runs on any device); the attention kernel then reads only the
    block structure and the rule."""
    from torch.nn.attention.flex_attention import create_block_mask

    B, L = key_index.shape
    segments = segment_ids if segment_ids is not None else torch.zeros_like(key_index)

    def mask_mod(b, h, q, k):
        seen = (key_index[b, k] <= horizon[b, q]) & (segments[b, k] == segments[b, q])
        if causal:
            seen = seen & (k <= q)
        return seen | (k == q)

    return create_block_mask(mask_mod, B, None, L, L, device=key_index.device)


def mask_for(attention: str | None, key_index: torch.Tensor, horizon: torch.Tensor,
             segment_ids: torch.Tensor | None = None, *, dtype: torch.dtype,
             causal: bool = False):
    """The rule in the form a model's attention implementation takes: a BlockMask for
    ``flex_attention``, the dense additive mask in ``dtype`` for every other."""
    if attention == "flex_attention":
        return block_mask(key_index, horizon, segment_ids, causal=causal)
    return additive_mask(visibility(key_index, horizon, segment_ids, causal=causal), dtype)


def additive_mask(allowed: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """[B, Q, K] bool -> [B, 1, Q, K] additive float mask (0 = attend, finfo.min = blocked).

    ``finfo.min`` rather than ``-inf``: transformers' eager attention adds the mask to the scores,
    and a row that is entirely ``-inf`` turns into NaN; our layouts never have such rows, but a
    finite minimum keeps any future one harmless.
    """
    check_mask_dtype(dtype)
    mask = torch.zeros(allowed.shape, dtype=dtype, device=allowed.device)
    mask.masked_fill_(~allowed, torch.finfo(dtype).min)
    return mask[:, None]


def prompt_horizon(
    free_index: torch.Tensor, prompt_len: torch.Tensor, prefix_attention: str
) -> torch.Tensor:
    """Horizon of regular tokens: causal, except prompt tokens see the whole prompt if bidirectional."""
    check_prefix_mode(prefix_attention)
    if prefix_attention == "causal":
        return free_index
    in_prompt = free_index < prompt_len
    return torch.where(in_prompt, torch.maximum(free_index, prompt_len - 1), free_index)


def keys_block_mask(keys_visible: torch.Tensor):
    """A decoding step's BlockMask: one query per row that sees the keys ``keys_visible`` [B, K]
    marks (flex attention; the dense form is ``additive_mask(keys_visible[:, None, :])``)."""
    from torch.nn.attention.flex_attention import create_block_mask

    B, K = keys_visible.shape
    return create_block_mask(lambda b, h, q, k: keys_visible[b, k], B, None, 1, K,
                             device=keys_visible.device)


def attention_of(model) -> str | None:
    """A model's attention implementation (transformers' ``config._attn_implementation``), seen
    through DDP's ``module``; None for a model without one (LlamaGen calls sdpa itself)."""
    config = getattr(getattr(model, "module", model), "config", None)
    return getattr(config, "_attn_implementation", None)
