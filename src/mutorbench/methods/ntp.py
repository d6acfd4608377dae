"""Next-token prediction (the paper's baseline), causal or bidirectional-prefix attention."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import torch

from mutorbench.configbase import Strict
from mutorbench.examples import Example
from mutorbench.masks import check_prefix_mode
from mutorbench.methods.base import MethodBase
from mutorbench.methods.layout import IGNORE_INDEX, ModelInputs, build_layout
from mutorbench.methods.losses import LossTerm, check_reduction, count, forward_token_losses, term
from mutorbench.registry import METHODS


def build_ntp_inputs(
    prompts: Sequence[Sequence[int]],
    answers: Sequence[Sequence[int]],
    *,
    pad_id: int,
    prefix_attention: str = "bidirectional",
    dtype: torch.dtype = torch.float32,
) -> ModelInputs:
    """Right-padded next-token inputs; the loss covers the answer tokens only."""
    return build_layout(
        prompts, answers, pad_id=pad_id, prefix_attention=prefix_attention, dtype=dtype
    )


class NtpConfig(Strict):
    id: Literal["ntp"] = "ntp"
    reduction: Literal["per_example", "token"] = "per_example"
    prefix_attention: Literal["bidirectional", "causal"] = "bidirectional"


@METHODS.register
@dataclass
class NextToken(MethodBase):
    """The next-token objective: ``loss = L_regular``."""

    Config = NtpConfig
    display_name = "Next-Token"
    supports_packing = True  # its losses read batch.segment_ids
    supports_lora = True

    prefix_attention: str = "bidirectional"
    reduction: str = "per_example"
    id: str = "ntp"

    def __post_init__(self) -> None:
        check_prefix_mode(self.prefix_attention)
        check_reduction(self.reduction)

    def hyperparameters(self) -> dict:
        return {"prefix_attention": self.prefix_attention, "reduction": self.reduction}

    def prepare(self, model, tokenizer) -> None:
        """Next-token training adds nothing to the model."""

    def build_batch(
        self, examples: Sequence[Example], *, pad_id: int, epoch: int = 0, dtype=torch.float32
    ) -> ModelInputs:
        return build_ntp_inputs(
            [e.prompt_ids for e in examples],
            [e.answer_ids for e in examples],
            pad_id=pad_id,
            prefix_attention=self.prefix_attention,
            dtype=dtype,
        )

    def loss_weights(self) -> dict[str, float]:
        return {"regular": 1.0}

    def loss_counts(self, batch: ModelInputs) -> dict[str, int]:
        return {"regular": count(batch.labels != IGNORE_INDEX, self.reduction, batch.segment_ids)}

    def loss_terms(self, model, batch: ModelInputs) -> dict[str, LossTerm]:
        ce = forward_token_losses(model, batch)
        return {"regular": term(ce, batch.labels != IGNORE_INDEX, self.reduction,
                                batch.segment_ids)}

    def losses(self, model, batch: ModelInputs) -> dict[str, torch.Tensor]:
        """Normalised losses of one batch: ``loss`` and ``loss_regular``."""
        regular = self.loss_terms(model, batch)["regular"].value
        return {"loss": regular, "loss_regular": regular}
