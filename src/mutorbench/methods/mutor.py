"""MuToR-1D: register tokens interleaved into the answer, each predicting the token d ahead.

Paper rules (§3.2–3.3): one register before every answer token; one offset d per sequence; a
register's position id is its target's position minus one; regular tokens keep their register-free
positions and never see registers; registers see the prompt, earlier regular tokens and themselves.
Loss ``(1 - a) * L_regular + a * L_register``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated, Literal

import numpy as np
import torch
from pydantic import Field

from mutorbench.configbase import PositiveInt, Strict
from mutorbench.examples import Example
from mutorbench.masks import check_prefix_mode
from mutorbench.methods.base import MethodBase
from mutorbench.methods.layout import (
    IGNORE_INDEX,
    ModelInputs,
    build_layout,
    build_sparse_layout,
)
from mutorbench.methods.losses import (
    LossTerm,
    check_reduction,
    combine,
    count,
    forward_token_losses,
    term,
)
from mutorbench.models.registers import RegisterState, add_registers, save_without_registers
from mutorbench.registry import METHODS

REGISTER_MODES = ("shared", "per_offset")
# Stream tags so offset and anchor draws never coincide with other draws keyed by
# (seed, epoch, index).
_OFFSET_STREAM = 0x6D75_746F
_ANCHOR_STREAM = 0x616E_6368


def _register_table(register_id: int | Sequence[int], offsets: list[int], pad_id: int) -> torch.Tensor:
    max_d = max(offsets, default=1)  # an empty batch is reported by build_layout
    if isinstance(register_id, (int, np.integer)):
        table = [int(register_id)] * max_d
    else:
        table = [int(r) for r in register_id]
        if len(table) < max_d:
            raise ValueError(
                f"per-offset register list has {len(table)} ids but an offset d={max_d} needs "
                f"at least {max_d} (one register token per d, indexed by d - 1)"
            )
    if pad_id in table:
        raise ValueError(f"register id equals pad id {pad_id}; registers need their own token")
    if min(table) < 0:
        raise ValueError("register ids must be non-negative")
    return torch.tensor(table, dtype=torch.long)


def build_mutor_inputs(
    prompts: Sequence[Sequence[int]],
    answers: Sequence[Sequence[int]],
    *,
    offsets: Sequence[int],
    register_id: int | Sequence[int],
    pad_id: int,
    prefix_attention: str = "bidirectional",
    dtype: torch.dtype = torch.float32,
) -> ModelInputs:
    """Right-padded MuToR inputs; ``offsets`` holds one d >= 1 per sequence.

    ``register_id`` is one shared register token, or a sequence indexed by d - 1 (one per offset).
    """
    offsets = list(offsets)  # prompts/answers are validated once, in build_layout
    if len(offsets) != len(prompts):
        raise ValueError(f"got {len(offsets)} offsets for {len(prompts)} examples")
    for b, d in enumerate(offsets):
        if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 1:
            raise ValueError(f"example {b}: offset d must be an int >= 1, got {d!r}")
    table = _register_table(register_id, offsets, pad_id)
    return build_layout(
        prompts,
        answers,
        pad_id=pad_id,
        prefix_attention=prefix_attention,
        dtype=dtype,
        offsets=torch.tensor(offsets, dtype=torch.long),
        register_table=table,
    )


def sample_offsets(
    seed: int, epoch: int, indices: Sequence[int], d_min: int, d_max: int
) -> list[int]:
    """d ~ U{d_min..d_max}, a pure function of (seed, epoch, example index).

    Keyed per example so the draw does not depend on batch composition, micro-batching or the number
    of processes.
    """
    return [
        int(np.random.default_rng([_OFFSET_STREAM, seed, epoch, int(i)]).integers(d_min, d_max + 1))
        for i in indices
    ]


def sample_anchors(seed: int, epoch: int, index: int, valid: int, count: int) -> list[int]:
    """Sparse registers: ``count`` of the ``valid`` answer positions (those whose register has a
    target), uniformly without replacement; a pure function of (seed, epoch, example index)."""
    if valid <= 0:
        return []
    rng = np.random.default_rng([_ANCHOR_STREAM, seed, epoch, int(index)])
    return sorted(int(j) for j in rng.choice(valid, size=min(count, valid), replace=False))


class MutorConfig(Strict):
    id: Literal["mutor"] = "mutor"
    d_min: PositiveInt = 1
    d_max: PositiveInt = 4
    a: Annotated[float, Field(ge=0.0, le=1.0)] = 0.3
    reduction: Literal["per_example", "token"] = "per_example"
    prefix_attention: Literal["bidirectional", "causal"] = "bidirectional"
    registers: Literal["shared", "per_offset"] = "shared"
    init_std: Annotated[float, Field(gt=0.0)] | None = None
    # sparse registers: this many per example at random answer positions (None: one before every
    # answer token, the paper's text setting; Tables 8/9/15 use 80 of 256 image tokens)
    register_count: PositiveInt | None = None


@METHODS.register
@dataclass
class MuToR(MethodBase):
    """The MuToR objective. Call ``prepare`` once on the model and tokenizer before training."""

    Config = MutorConfig
    display_name = "MuToR"
    supports_packing = True  # its losses read batch.segment_ids
    supports_lora = True  # the register rows train through peft's trainable_token_indices

    d_min: int = 1
    d_max: int = 4
    a: float = 0.3
    reduction: str = "per_example"
    prefix_attention: str = "bidirectional"
    registers: str = "shared"  # or "per_offset": one register token per d (paper Table 6)
    seed: int = 0
    init_std: float | None = None  # None: the model config's initializer_range
    register_count: int | None = None  # sparse: registers per example at seeded random anchors
    id: str = "mutor"
    state: RegisterState | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not (1 <= self.d_min <= self.d_max):
            raise ValueError(f"need 1 <= d_min <= d_max, got d_min={self.d_min}, d_max={self.d_max}")
        if not (0.0 <= self.a <= 1.0):
            raise ValueError(f"loss coefficient a must be in [0, 1], got {self.a}")
        if self.registers not in REGISTER_MODES:
            raise ValueError(f"unknown registers mode {self.registers!r}; expected {REGISTER_MODES}")
        check_reduction(self.reduction)
        check_prefix_mode(self.prefix_attention)

    def hyperparameters(self) -> dict:
        out = {
            "d_min": self.d_min, "d_max": self.d_max, "a": self.a, "reduction": self.reduction,
            "prefix_attention": self.prefix_attention, "registers": self.registers,
            "seed": self.seed, "register_count": self.register_count,
        }
        if self.state is not None:
            out["register_init"] = self.state.init
        return out

    def register_names(self) -> list[str]:
        if self.registers == "shared":
            return ["<reg>"]
        return [f"<reg_{d}>" for d in range(1, self.d_max + 1)]

    def prepare(self, model, tokenizer) -> RegisterState:
        if self.state is not None:
            raise RuntimeError("MuToR.prepare was already called for this objective")
        self.state = add_registers(
            model, tokenizer, self.register_names(), seed=self.seed, std=self.init_std
        )
        return self.state

    @property
    def register_ids(self) -> list[int]:
        if self.state is None:
            raise RuntimeError("call MuToR.prepare(model, tokenizer) first")
        return self.state.token_ids

    def suppress_ids(self) -> list[int]:
        """Tokens never to generate: the registers exist only in training."""
        return list(self.register_ids)

    def trainable_token_ids(self) -> list[int]:
        return list(self.register_ids)

    def added_param_count(self, model) -> int:
        """One embedding row per register (and one output row each when untied, unless the
        family keeps added tokens out of its head: LlamaGen)."""
        from mutorbench.models.adapters import adapter_for

        text = model.config.get_text_config()
        rows = 1 if self.registers == "shared" else self.d_max
        input_only = text.tie_word_embeddings or adapter_for(model).add_rows is not None
        return rows * text.hidden_size * (1 if input_only else 2)

    def export(self, model, tokenizer, path) -> None:
        """Register rows stripped, the original tokenizer saved."""
        save_without_registers(model, self.state, path)

    def offsets(self, epoch: int, indices: Sequence[int]) -> list[int]:
        """One d per example: U{d_min..d_max} (MuToR-2D draws its own)."""
        return sample_offsets(self.seed, epoch, indices, self.d_min, self.d_max)

    def probe_offset(self, target: int) -> int | None:
        """The offset whose register aimed at answer token ``target`` sees the fewest answer
        tokens: the largest trained d with d <= target + 1 (None: no trained register aims
        there)."""
        top = min(self.d_max, target + 1)
        return top if top >= self.d_min else None

    def probe_registers(self, model, examples: Sequence[Example], targets: dict[str, int], *,
                        pad_id: int, prefix_attention: str, batch_size: int = 256
                        ) -> dict[str, list[bool]]:
        """Per named answer-token index, per example: is the register aimed at it right?
        (methods/register_probe.py; the offset is ``probe_offset``)."""
        from mutorbench.methods.register_probe import register_hits

        ids = self.register_ids
        out = {}
        for name, target in targets.items():
            d = self.probe_offset(target)
            if d is not None:
                out[name] = register_hits(
                    model, examples, target=target, d=d,
                    register_id=ids[0] if self.registers == "shared" else ids, pad_id=pad_id,
                    prefix_attention=prefix_attention, suppress_ids=ids, batch_size=batch_size)
        return out

    def build_batch(
        self, examples: Sequence[Example], *, pad_id: int, epoch: int = 0, dtype=torch.float32
    ) -> ModelInputs:
        ids = self.register_ids
        register_id = ids[0] if self.registers == "shared" else ids
        offsets = self.offsets(epoch, [e.index for e in examples])
        if self.register_count is not None:
            anchors = [sample_anchors(self.seed, epoch, e.index,
                                      max(0, len(e.answer_ids) - d + 1), self.register_count)
                       for e, d in zip(examples, offsets)]
            return build_sparse_layout(
                [e.prompt_ids for e in examples], [e.answer_ids for e in examples],
                offsets=offsets, anchors=anchors,
                register_table=_register_table(register_id, offsets, pad_id), pad_id=pad_id,
                prefix_attention=self.prefix_attention, dtype=dtype)
        return build_mutor_inputs(
            [e.prompt_ids for e in examples],
            [e.answer_ids for e in examples],
            offsets=offsets,
            register_id=register_id,
            pad_id=pad_id,
            prefix_attention=self.prefix_attention,
            dtype=dtype,
        )

    def loss_weights(self) -> dict[str, float]:
        return {"regular": 1.0 - self.a, "register": self.a}

    def _selects(self, batch: ModelInputs) -> dict[str, torch.Tensor]:
        labelled = batch.labels != IGNORE_INDEX
        return {"regular": labelled & ~batch.is_register, "register": labelled & batch.is_register}

    def loss_counts(self, batch: ModelInputs) -> dict[str, int]:
        return {k: count(s, self.reduction, batch.segment_ids)
                for k, s in self._selects(batch).items()}

    def loss_terms(self, model, batch: ModelInputs) -> dict[str, LossTerm]:
        ce = forward_token_losses(model, batch)
        return {k: term(ce, s, self.reduction, batch.segment_ids)
                for k, s in self._selects(batch).items()}

    def losses(self, model, batch: ModelInputs) -> dict[str, torch.Tensor]:
        """Normalised losses of one batch: ``loss`` and each part as ``loss_<part>``."""
        terms = self.loss_terms(model, batch)
        out = {"loss": combine(terms, self.loss_weights())}
        out.update({f"loss_{k}": t.value for k, t in terms.items()})
        return out
