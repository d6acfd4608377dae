"""Where a model family keeps its parts: one adapter per family (torchtitan's ModelSpec).

Multi-Token heads, DS modules, FSDP sharding, LoRA counts and ``params`` ask the adapter for the
decoder layers, final norm, embeddings, rotary embedding and output head; nothing else guesses
attribute paths. A family that the tiny scale can build also says how (``tiny``: sizes -> its
transformers config; models/tiny.py fills the sizes). A model that is not a Hugging Face
``PreTrainedModel`` (LlamaGen, the image model) plugs in with an adapter for its
``config.model_type`` that also builds it (``build``) and names its shipped architectures.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from transformers import GemmaConfig, GPT2Config, LlamaConfig, PretrainedConfig, Qwen2Config

from mutorbench.models.llamagen import LlamaGen, LlamaGenConfig
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
    # a tiny config of this family from (sizes, special ids, tie); None: not built at tiny scale
    tiny: Callable[..., PretrainedConfig] | None = None
    # a family that is not a transformers model: how to build one from its config, and the
    # architectures shipped by name (``params --model llamagen-b``)
    build: Callable | None = None
    configs: dict = field(default_factory=dict)
    # a family with its own table for added tokens (registers): (model, n, std=, generator=)
    # -> their ids; None: transformers' resize_token_embeddings
    add_rows: Callable | None = None

    def inner_of(self, model) -> torch.nn.Module:
        return getattr(model, self.inner) if self.inner else model  # "": no wrapper

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


def _tiny_llama(s: dict, special: dict, tie: bool | None) -> PretrainedConfig:
    return LlamaConfig(**s, **special, head_dim=s["hidden_size"] // s["num_attention_heads"],
                       tie_word_embeddings=bool(tie))


def _tiny_gemma(s: dict, special: dict, tie: bool | None) -> PretrainedConfig:
    return GemmaConfig(**s, **special, head_dim=s["hidden_size"] // s["num_attention_heads"],
                       tie_word_embeddings=True if tie is None else tie)


def _tiny_qwen2(s: dict, special: dict, tie: bool | None) -> PretrainedConfig:
    return Qwen2Config(**s, **special, use_sliding_window=False, tie_word_embeddings=bool(tie))


def _tiny_gpt2(s: dict, special: dict, tie: bool | None) -> PretrainedConfig:
    return GPT2Config(vocab_size=s["vocab_size"], **special, n_embd=s["hidden_size"],
                      n_layer=s["num_hidden_layers"], n_head=s["num_attention_heads"],
                      n_inner=s["intermediate_size"], n_positions=s["max_position_embeddings"],
                      resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
                      # GPT-2's tanh GELU (Bachmann & Nagarajan's too) as PyTorch's fused kernel:
                      # the same function to float precision, ~18% faster tiny steps than gelu_new
                      activation_function="gelu_pytorch_tanh",
                      tie_word_embeddings=True if tie is None else tie)


for _adapter in (
    ModelAdapter("llama", "model", "layers", "norm", "embed_tokens", "rotary_emb",
                 tiny=_tiny_llama),
    ModelAdapter("gemma", "model", "layers", "norm", "embed_tokens", "rotary_emb",
                 tiny=_tiny_gemma),
    ModelAdapter("qwen2", "model", "layers", "norm", "embed_tokens", "rotary_emb",
                 tiny=_tiny_qwen2),
    ModelAdapter("mistral", "model", "layers", "norm", "embed_tokens", "rotary_emb"),
    ModelAdapter("gpt2", "transformer", "h", "ln_f", "wte", None, tiny=_tiny_gpt2),
    # LlamaGen's GPT (images): its own module, RoPE computed inside the attention
    ModelAdapter("llamagen", "", "layers", "norm", "tok_embeddings", None, head="output",
                 build=LlamaGen, configs={"llamagen-b": LlamaGenConfig},
                 add_rows=LlamaGen.add_token_rows),
):
    ADAPTERS.register(_adapter)


def named_architecture(name: str):
    """The config of an architecture a non-transformers family ships by name, or None."""
    return next((a.configs[name]() for _, a in ADAPTERS.items() if name in a.configs), None)


def build_from_config(config) -> torch.nn.Module:
    """A model with random weights: the family's own builder, else transformers'."""
    adapter = ADAPTERS.get(config.model_type) if config.model_type in ADAPTERS else None
    if adapter is not None and adapter.build is not None:
        return adapter.build(config)
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_config(config)


def tiny_families() -> list[str]:
    """The families the tiny scale can build (``model.arch``)."""
    return [name for name, adapter in ADAPTERS.items() if adapter.tiny is not None]


def adapter_for(model) -> ModelAdapter:
    """The adapter of a (bare, unwrapped) model, by its config's ``model_type``."""
    config = getattr(model, "config", None)
    family = getattr(config, "model_type", None)
    if family not in ADAPTERS:
        raise ValueError(f"no model adapter for {type(model).__name__} (model_type {family!r}); "
                         f"adapters: {', '.join(ADAPTERS.names())} (models/adapters.py)")
    return ADAPTERS.get(family)
