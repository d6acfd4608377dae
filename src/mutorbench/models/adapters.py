"""Where a model family keeps its parts: one adapter per family (torchtitan's ModelSpec).

Multi-Token heads, DS modules, FSDP sharding, LoRA counts and ``params`` ask the adapter for the
decoder layers, final norm, embeddings, rotary embedding and output head; nothing else guesses
attribute paths. A model that is not a Hugging Face ``PreTrainedModel`` (the image model) plugs
in by registering an adapter for its ``config.model_type``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from mutorbench.registry import Registry


@dataclass(frozen=True)
class ModelAdapter:
    family: str  # config.model_type
    inner: str  # the decoder module under the causal-LM wrapper
    layers: str  # the repeated blocks, under ``inner`` (the FSDP sharding units)
    norm: str  # the final norm, under ``inner``
    embeddings: str  # the input token embedding, under ``inner``
    rotary: str | None  # the rotary embedding under ``inner``; None: learned absolute positions
    head: str = "lm_head"  # the output head, on the wrapper
    positions: str = "max_position_embeddings"  # the config's position limit (None: no limit)

    def inner_of(self, model) -> torch.nn.Module:
        return getattr(model, self.inner)

    def layers_of(self, model) -> torch.nn.ModuleList:
        return getattr(self.inner_of(model), self.layers)

    def norm_of(self, model) -> torch.nn.Module:
        return getattr(self.inner_of(model), self.norm)

    def embeddings_of(self, model) -> torch.nn.Module:
        return getattr(self.inner_of(model), self.embeddings)

    def head_of(self, model) -> torch.nn.Module:
        return getattr(model, self.head)

    def rotary_of(self, model) -> torch.nn.Module:
        if self.rotary is None:
            raise ValueError(f"{self.family}: needs a decoder with rotary embeddings (Llama, "
                             "Gemma, Qwen2 families); this family has learned positions")
        return getattr(self.inner_of(model), self.rotary)

    def max_positions(self, model) -> int | None:
        """How many positions the model can take: a generation's prompt plus new tokens."""
        return getattr(model.config, self.positions)


ADAPTERS = Registry("model family", lambda adapter: adapter.family)

for _adapter in (
    ModelAdapter("llama", "model", "layers", "norm", "embed_tokens", "rotary_emb"),
    ModelAdapter("gemma", "model", "layers", "norm", "embed_tokens", "rotary_emb"),
    ModelAdapter("qwen2", "model", "layers", "norm", "embed_tokens", "rotary_emb"),
    ModelAdapter("mistral", "model", "layers", "norm", "embed_tokens", "rotary_emb"),
    ModelAdapter("gpt2", "transformer", "h", "ln_f", "wte", None),
):
    ADAPTERS.register(_adapter)


def adapter_for(model) -> ModelAdapter:
    """The adapter of a (bare, unwrapped) model, by its config's ``model_type``."""
    config = getattr(model, "config", None)
    family = getattr(config, "model_type", None)
    if family not in ADAPTERS:
        raise ValueError(f"no model adapter for {type(model).__name__} (model_type {family!r}); "
                         f"adapters: {', '.join(ADAPTERS.names())} (models/adapters.py)")
    return ADAPTERS.get(family)
