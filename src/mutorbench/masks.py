"""Attention-mask algebra shared by every method.

Every layout in this project (prompt + answer, with or without registers, padded) reduces to one rule:
a query slot q may attend to a key slot k iff ``key_index[k] <= horizon[q]`` or ``k == q``.

- ``key_index``: the register-free index of a *regular* token; registers and padding get
  ``NEVER_VISIBLE`` so that no other slot can see them (paper rule: regular tokens are blind to
  registers, registers never see other registers).
- ``horizon``: the last register-free index the query may see. A causal token sees up to itself; a
  prompt token under bidirectional prefix attention sees the whole prompt; a register placed after
  x_t sees up to t. Padding gets ``-1`` so it sees only itself (no fully masked row, hence no NaN).
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


def visibility(key_index: torch.Tensor, horizon: torch.Tensor) -> torch.Tensor:
    """Boolean [B, Q, K] visibility from per-slot ``key_index`` [B, K] and ``horizon`` [B, Q]."""
    allowed = key_index[:, None, :] <= horizon[:, :, None]
    if key_index.shape[1] == horizon.shape[1]:
        allowed |= torch.eye(key_index.shape[1], dtype=torch.bool, device=key_index.device)
    return allowed


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
