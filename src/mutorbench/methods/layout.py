"""Token layout of a (prompt, answer) batch, with or without MuToR registers — pure tensor code.

One register precedes every answer token whose register has a target inside the answer
(``[q_1..q_P, r, a_1, r, a_2, ..., r, a_K, a_{K+1}, ..., a_A]`` with ``K = max(0, A - d + 1)``).
The paper's code keeps the remaining ``d - 1`` registers with label -100; they influence nothing
(no token sees a register), so we drop them: identical losses, fewer tokens.

Indices below are 0-based. In the register-free sequence ``x`` (prompt then answer), answer token
``a_j`` sits at ``P + j``. Register ``j`` sits right after ``x[P + j - 1]`` and predicts
``x[P + j - 1 + d]``; its position id is that target's index minus one (paper §3.2, Figure 1).
Batches are right-padded; lengths come from the lists, never from ``pad_id``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from itertools import chain

import torch

from mutorbench import masks

IGNORE_INDEX = -100


@dataclass
class ModelInputs:
    """Inputs for a Hugging Face causal LM plus labels aligned with its logits (no shift needed).

    Attention is held as its rule (masks.py), two integers per slot, not as an L x L tensor: the
    dense additive mask (sdpa, eager) or a flex-attention BlockMask is built from it for the
    forward, on the batch's device.
    """

    input_ids: torch.Tensor  # [B, L] long
    position_ids: torch.Tensor  # [B, L] long
    labels: torch.Tensor  # [B, L] long, IGNORE_INDEX where no loss
    is_register: torch.Tensor  # [B, L] bool
    lengths: torch.Tensor  # [B] long, unpadded length of each row
    key_index: torch.Tensor  # [B, L] long: slot k is visible to q iff key_index[k] <= horizon[q]
    horizon: torch.Tensor  # [B, L] long    (or k == q; packed rows: within one example)
    # packed rows (methods/packing.py): the example (0..n-1) each slot holds, -1 on padding;
    # None: one example per row
    segment_ids: torch.Tensor | None = None
    mask_dtype: torch.dtype = torch.float32  # of ``attention_mask``

    @property
    def attention_mask(self) -> torch.Tensor:
        """The dense [B, 1, L, L] additive mask (0 = attend, finfo(mask_dtype).min = blocked)."""
        return masks.mask_for(None, self.key_index, self.horizon, self.segment_ids,
                              dtype=self.mask_dtype)

    def model_kwargs(self, dtype: torch.dtype | None = None, *, attention: str | None = None,
                     causal: bool = False) -> dict:
        """Keyword arguments for the model's forward.

        ``dtype``: the model's compute dtype (sdpa needs the mask in the query's dtype; blocked
        entries are that dtype's own minimum). ``attention``: the model's attention
        implementation; ``flex_attention`` gets a BlockMask built from the rule. ``causal``: also
        key <= query (the DS-Multi-Token modules).
        """
        mask = masks.mask_for(attention, self.key_index, self.horizon, self.segment_ids,
                              dtype=dtype or self.mask_dtype, causal=causal)
        return {"input_ids": self.input_ids, "position_ids": self.position_ids,
                "attention_mask": mask}

    def kwargs_for(self, model, *, causal: bool = False) -> dict:
        """``model_kwargs`` for ``model`` (also wrapped: DDP, peft): its parameters' dtype and its
        attention implementation."""
        return self.model_kwargs(next(model.parameters()).dtype,
                                 attention=masks.attention_of(model), causal=causal)

    def to(self, device: torch.device | str) -> ModelInputs:
        return ModelInputs(**{f.name: _moved(getattr(self, f.name), device) for f in fields(self)})

    @property
    def num_regular_tokens(self) -> int:
        return int(self.lengths.sum()) - self.num_register_tokens

    @property
    def num_register_tokens(self) -> int:
        return int(self.is_register.sum())


def _moved(value, device):
    return value.to(device) if isinstance(value, torch.Tensor) else value


def check_examples(prompts: Sequence[Sequence[int]], answers: Sequence[Sequence[int]]) -> None:
    if len(prompts) != len(answers):
        raise ValueError(f"got {len(prompts)} prompts but {len(answers)} answers")
    if len(prompts) == 0:
        raise ValueError("empty batch: no prompts given")
    for b, (prompt, answer) in enumerate(zip(prompts, answers)):
        if len(prompt) == 0:
            raise ValueError(f"example {b}: empty prompt (it needs at least one token, e.g. BOS)")
        if len(answer) == 0:
            raise ValueError(f"example {b}: empty answer")


def _padded(rows: Sequence[Sequence[int]], lengths: torch.Tensor, pad_id: int) -> torch.Tensor:
    flat = torch.tensor(list(chain.from_iterable(rows)))
    if flat.dtype != torch.long or int(flat.min()) < 0:
        raise ValueError("token ids must be non-negative integers")
    width = int(lengths.max())
    out = torch.full((len(rows), width), pad_id, dtype=torch.long)
    out[torch.arange(width)[None, :] < lengths[:, None]] = flat
    return out


def build_layout(
    prompts: Sequence[Sequence[int]],
    answers: Sequence[Sequence[int]],
    *,
    pad_id: int,
    prefix_attention: str,
    dtype: torch.dtype,
    offsets: torch.Tensor | None = None,
    register_table: torch.Tensor | None = None,
) -> ModelInputs:
    """Shared builder: ``offsets=None`` gives the next-token layout (no registers).

    ``register_table[d - 1]`` is the register token id used for offset ``d``.
    """
    check_examples(prompts, answers)
    masks.check_prefix_mode(prefix_attention)
    masks.check_mask_dtype(dtype)
    if not isinstance(pad_id, int):
        raise ValueError(f"pad_id must be an int, got {pad_id!r}")

    P = torch.tensor([len(p) for p in prompts], dtype=torch.long)
    A = torch.tensor([len(a) for a in answers], dtype=torch.long)
    x = _padded([(*p, *a) for p, a in zip(prompts, answers)], P + A, pad_id)
    if offsets is None:
        d = torch.zeros_like(P)
        K = torch.zeros_like(P)
    else:
        d = offsets
        K = (A - d + 1).clamp(min=0)
    lengths = P + A + K

    width = int(lengths.max())
    i = torch.arange(width)[None, :]
    P_, K_, d_ = P[:, None], K[:, None], d[:, None]
    rel = i - P_
    in_prompt = rel < 0
    in_pairs = (rel >= 0) & (rel < 2 * K_)
    valid = i < lengths[:, None]
    is_register = in_pairs & (rel % 2 == 0)
    regular = valid & ~is_register
    # j: answer index of an answer slot, or register index of a register slot.
    j = torch.where(in_pairs, rel // 2, rel - K_)
    free = torch.where(in_prompt, i, P_ + j)  # register-free index (for a register: of a_j after it)
    last = x.shape[1] - 1

    reg_target = P_ + j - 1 + d_
    next_free = free + 1
    has_label = regular & (free >= P_ - 1) & (next_free < (P + A)[:, None])
    labels = torch.where(is_register, reg_target, next_free).clamp(0, last)
    labels = torch.where(has_label | is_register, x.gather(1, labels), IGNORE_INDEX)

    input_ids = x.gather(1, free.clamp(0, last))
    if register_table is not None:
        reg_ids = register_table[(d - 1).clamp(min=0)][:, None]
        input_ids = torch.where(is_register, reg_ids, input_ids)
    input_ids = torch.where(valid, input_ids, pad_id)

    position_ids = torch.where(is_register, reg_target - 1, free)
    position_ids = torch.where(valid, position_ids, 0)

    key_index = torch.where(regular, free, masks.NEVER_VISIBLE)
    horizon = torch.where(
        is_register, P_ + j - 1, masks.prompt_horizon(free, P_, prefix_attention)
    )
    horizon = torch.where(valid, horizon, -1)

    return ModelInputs(
        input_ids=input_ids,
        position_ids=position_ids,
        labels=labels,
        is_register=is_register,
        lengths=lengths,
        key_index=key_index,
        horizon=horizon,
        mask_dtype=dtype,
    )


def build_sparse_layout(
    prompts: Sequence[Sequence[int]],
    answers: Sequence[Sequence[int]],
    *,
    offsets: Sequence[int],
    anchors: Sequence[Sequence[int]],
    register_table: torch.Tensor,
    pad_id: int,
    prefix_attention: str,
    dtype: torch.dtype,
) -> ModelInputs:
    """The MuToR layout with registers only before the answer tokens in ``anchors[b]`` (answer
    indices j whose register has a target, j < A - d + 1): sparse registers (the paper's 80 of
    256). Slot by slot, the same rules as ``build_layout``, which it equals when every valid j
    is an anchor; per-example loops, so it is slower than the dense builder."""
    check_examples(prompts, answers)
    masks.check_prefix_mode(prefix_attention)
    masks.check_mask_dtype(dtype)
    rows = []
    for b, (prompt, answer) in enumerate(zip(prompts, answers)):
        x, P, A, d = [*prompt, *answer], len(prompt), len(answer), int(offsets[b])
        chosen = set(int(j) for j in anchors[b])
        if any(j < 0 or j > A - d for j in chosen):
            raise ValueError(f"example {b}: anchors {sorted(chosen)} must be answer indices "
                             f"0..{A - d} (a register's target must lie inside the answer)")
        horizon_of = masks.prompt_horizon(torch.arange(P + A), torch.tensor(P), prefix_attention)
        slots = []  # (input, label, position, key_index, horizon, is_register)
        for free in range(P + A):
            j = free - P
            if j in chosen:
                target = P + j - 1 + d
                slots.append((int(register_table[d - 1]), x[target], target - 1,
                              masks.NEVER_VISIBLE, P + j - 1, True))
            label = x[free + 1] if free >= P - 1 and free + 1 < P + A else IGNORE_INDEX
            slots.append((x[free], label, free, free, int(horizon_of[free]), False))
        rows.append(slots)
    width = max(len(r) for r in rows)
    pad = (pad_id, IGNORE_INDEX, 0, masks.NEVER_VISIBLE, -1, False)
    padded = [r + [pad] * (width - len(r)) for r in rows]

    def column(k: int, kind=torch.long) -> torch.Tensor:
        return torch.tensor([[slot[k] for slot in row] for row in padded], dtype=kind)

    return ModelInputs(
        input_ids=column(0), position_ids=column(2),
        labels=column(1), is_register=column(5, torch.bool),
        lengths=torch.tensor([len(r) for r in rows], dtype=torch.long),
        key_index=column(3), horizon=column(4), mask_dtype=dtype,
    )
