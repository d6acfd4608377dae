"""Tiny Llama/Gemma/Qwen2/GPT-2 configs for CPU tests and the tiny scale, and a seeded model builder."""

from __future__ import annotations

import torch
from transformers import AutoModelForCausalLM, PretrainedConfig

from mutorbench.models.adapters import ADAPTERS, tiny_families
from mutorbench.models.support import check_attention, check_supported


def tiny_config(
    arch: str,
    vocab_size: int,
    *,
    hidden_size: int = 64,
    num_layers: int = 2,
    num_heads: int = 4,
    num_kv_heads: int | None = None,
    intermediate_size: int | None = None,
    max_positions: int = 2048,
    tie_word_embeddings: bool | None = None,
    bos_token_id: int | None = None,
    eos_token_id: int | None = None,
    pad_token_id: int | None = None,
) -> PretrainedConfig:
    """A small config of the named architecture family; dropout off (the paper's models have none)."""
    tiny = ADAPTERS.get(arch).tiny if arch in ADAPTERS else None
    if tiny is None:
        raise ValueError(f"unknown tiny architecture {arch!r}; expected one of "
                         f"{', '.join(tiny_families())}")
    sizes = dict(vocab_size=vocab_size, hidden_size=hidden_size, num_hidden_layers=num_layers,
                 num_attention_heads=num_heads, num_key_value_heads=num_kv_heads or num_heads,
                 intermediate_size=intermediate_size or 4 * hidden_size,
                 max_position_embeddings=max_positions)
    special = dict(bos_token_id=bos_token_id, eos_token_id=eos_token_id, pad_token_id=pad_token_id)
    return tiny(sizes, special, tie_word_embeddings)


def tiny_config_for(model_cfg, vocab_size: int, tokenizer=None) -> PretrainedConfig:
    """The run config's ``model`` section (tiny) as a transformers config; special token ids come
    from ``tokenizer`` when given (training), else stay unset (parameter counts)."""
    ids = {} if tokenizer is None else dict(pad_token_id=tokenizer.pad_token_id,
                                            bos_token_id=tokenizer.bos_token_id,
                                            eos_token_id=tokenizer.eos_token_id)
    m = model_cfg
    return tiny_config(m.arch, vocab_size, hidden_size=m.hidden_size, num_layers=m.num_layers,
                       num_heads=m.num_heads, num_kv_heads=m.num_kv_heads,
                       intermediate_size=m.intermediate_size, **ids)


def build_model(
    config: PretrainedConfig,
    *,
    seed: int,
    attn_implementation: str = "sdpa",
    dtype: torch.dtype = torch.float32,
):
    """Randomly initialised causal LM; its weights depend on ``seed`` only, not the global RNG."""
    check_supported(config)
    check_attention(attn_implementation)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = AutoModelForCausalLM.from_config(
            config, attn_implementation=attn_implementation, dtype=dtype
        )
    return model
