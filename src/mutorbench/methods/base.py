"""What every training objective has, with defaults: the optional members of the Method protocol.

A method subclasses :class:`MethodBase` (a dataclass), declares its config section as ``Config``
(a pydantic model with an ``id`` literal) and registers with ``@METHODS.register``. Members it
does not override keep these defaults; the loop, export, LoRA and ``params`` call them directly.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import ClassVar

from mutorbench.methods.layout import ModelInputs


class MethodBase:
    Config: ClassVar[type]  # the method's config section (pydantic, with an `id` literal)
    display_name: ClassVar[str] = ""  # as tables print it ("Next-Token", "MuToR")
    supports_lora: ClassVar[bool] = False  # peft LoRA applies (adapters + trainable token rows)
    # its losses read batch.segment_ids (methods/packing.py): batch.packing may be on. A method
    # that reduces per row would silently average packed examples together, so it is opt-in.
    supports_packing: ClassVar[bool] = False
    prefix_attention: str = "bidirectional"
    # a method's own decoding (teacherless: parallel) and per-token scoring inputs; None: the
    # evaluator's greedy decoding and teacher-forced next-token inputs
    decode: ClassVar[Callable | None] = None
    scoring_inputs: ClassVar[Callable[..., ModelInputs] | None] = None
    # what its registers predict at a task's probe targets (MuToR; methods/register_probe.py)
    probe_registers: ClassVar[Callable | None] = None

    @classmethod
    def from_config(cls, cfg, *, seed: int):
        """The method built from its config section; ``seed`` goes to methods that draw."""
        kwargs = cfg.model_dump(exclude={"id"})
        if "seed" in {f.name for f in dataclasses.fields(cls)}:
            kwargs["seed"] = seed
        return cls(**kwargs)

    def trainable_token_ids(self) -> list[int]:
        """Token rows that must train under LoRA (MuToR's registers); none by default."""
        return []

    def suppress_ids(self) -> list[int]:
        """Token ids generation must never produce (MuToR's registers); none by default."""
        return []

    def added_param_count(self, model) -> int:
        """Parameters ``prepare`` would add to ``model`` (built on the meta device): `params`."""
        return 0

    def export(self, model, tokenizer, path) -> None:
        """Save the trained model as the plain base architecture (what inference uses)."""
        model.save_pretrained(path)
        tokenizer.save_pretrained(path)
