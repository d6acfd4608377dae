"""Teacherless training (Bachmann & Nagarajan 2024): a reference arm for the star-graph task.

Every answer input is replaced by one dummy token, so each answer token is predicted from the
prompt alone (no teacher forcing, no "Clever Hans" shortcut); the labels are next-token's. Decoding
is parallel: one forward over the prompt followed by dummies, the argmax at every answer position.
The dummy is an added special token (row drawn like a register's, stripped on export).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import torch

from mutorbench.examples import Example
from mutorbench.methods.layout import ModelInputs
from mutorbench.methods.ntp import NextToken, NtpConfig, build_ntp_inputs
from mutorbench.models.registers import RegisterState, add_registers, save_without_registers
from mutorbench.registry import METHODS

DUMMY = "<dummy>"


def build_teacherless_inputs(prompts: Sequence[Sequence[int]], answers: Sequence[Sequence[int]],
                             *, dummy_id: int, pad_id: int, prefix_attention: str = "bidirectional",
                             dtype: torch.dtype = torch.float32) -> ModelInputs:
    """Next-token layout and labels, with every answer input replaced by ``dummy_id``."""
    batch = build_ntp_inputs(prompts, answers, pad_id=pad_id, prefix_attention=prefix_attention,
                             dtype=dtype)
    pos = torch.arange(batch.input_ids.shape[1])
    P = torch.tensor([len(p) for p in prompts])
    in_answer = (pos[None, :] >= P[:, None]) & (pos[None, :] < batch.lengths[:, None])
    batch.input_ids = batch.input_ids.masked_fill(in_answer, dummy_id)
    return batch


@torch.no_grad()
def parallel_generate(model, prompts: Sequence[Sequence[int]], *, max_new_tokens: int, eos_id: int,
                      pad_id: int, dummy_id: int, prefix_attention: str = "bidirectional",
                      suppress_ids: Sequence[int] = ()) -> list[list[int]]:
    """Teacherless decoding: one forward over prompt + ``max_new_tokens`` dummies; token j of the
    answer is the argmax at position len(prompt) - 1 + j. Cut at EOS (excluded)."""
    device = next(model.parameters()).device
    batch = build_ntp_inputs(prompts, [[dummy_id] * max_new_tokens] * len(prompts), pad_id=pad_id,
                             prefix_attention=prefix_attention)
    logits = model(**batch.to(device).kwargs_for(model)).logits.float()
    blocked = sorted({dummy_id, *suppress_ids})
    logits[..., blocked] = torch.finfo(logits.dtype).min
    outs = []
    for i, p in enumerate(prompts):
        tokens = logits[i, len(p) - 1:len(p) - 1 + max_new_tokens].argmax(-1).tolist()
        outs.append(tokens[:tokens.index(eos_id)] if eos_id in tokens else tokens)
    return outs


class TeacherlessConfig(NtpConfig):
    """Next-token's options, dummy answer inputs."""
    id: Literal["teacherless"] = "teacherless"  # type: ignore[assignment]


@METHODS.register
@dataclass
class Teacherless(NextToken):
    """Next-token's loss and labels (inherited) on dummy answer inputs; decoded in parallel."""

    Config = TeacherlessConfig
    display_name = "Teacherless"
    supports_lora = False

    seed: int = 0
    id: str = "teacherless"
    state: RegisterState | None = field(default=None, repr=False)  # the dummy token's row

    def hyperparameters(self) -> dict:
        out = super().hyperparameters() | {"seed": self.seed}
        return out | ({"dummy_init": self.state.init} if self.state is not None else {})

    def prepare(self, model, tokenizer) -> RegisterState:
        if self.state is not None:
            raise RuntimeError("Teacherless.prepare was already called for this objective")
        self.state = add_registers(model, tokenizer, [DUMMY], seed=self.seed)
        return self.state

    def scoring_inputs(self, prompts, answers, *, pad_id: int, prefix_attention: str,
                       dtype: torch.dtype = torch.float32) -> ModelInputs:
        """The per-token accuracy's inputs: this arm's own (dummy answer inputs)."""
        return build_teacherless_inputs(prompts, answers, dummy_id=self.dummy_id, pad_id=pad_id,
                                        prefix_attention=prefix_attention, dtype=dtype)

    @property
    def dummy_id(self) -> int:
        if self.state is None:
            raise RuntimeError("call Teacherless.prepare(model, tokenizer) first")
        return self.state.token_ids[0]

    def suppress_ids(self) -> list[int]:
        return [self.dummy_id]

    def added_param_count(self, model) -> int:
        """The dummy token's row (and its output row when untied)."""
        text = model.config.get_text_config()
        return text.hidden_size * (1 if text.tie_word_embeddings else 2)

    def export(self, model, tokenizer, path) -> None:
        save_without_registers(model, self.state, path)  # the dummy row is stripped

    def decode(self, model, prompts, **kwargs) -> list[list[int]]:
        """The evaluator's decoding for this arm (parallel, not autoregressive)."""
        return parallel_generate(model, prompts, dummy_id=self.dummy_id, **kwargs)

    def build_batch(self, examples: Sequence[Example], *, pad_id: int, epoch: int = 0,
                    dtype=torch.float32) -> ModelInputs:
        return build_teacherless_inputs([e.prompt_ids for e in examples],
                                        [e.answer_ids for e in examples], dummy_id=self.dummy_id,
                                        pad_id=pad_id, prefix_attention=self.prefix_attention,
                                        dtype=dtype)
