"""Which models MuToR's single 4-D attention mask is correct for.

A 4-D mask replaces the model's own mask construction for every layer. Sliding-window layers
(Gemma 2/3, Mistral-style configs) would then silently lose their window, so they are refused.
Attention: a dense additive mask for ``sdpa`` and ``eager``, a BlockMask for ``flex_attention``
(masks.py); flex attention trains on GPUs only (PyTorch has no FlexAttention backward on CPU).
"""

from __future__ import annotations

ATTENTION_IMPLEMENTATIONS = ("sdpa", "eager", "flex_attention")


def check_supported(config) -> None:
    cfg = config.get_text_config() if hasattr(config, "get_text_config") else config
    layer_types = getattr(cfg, "layer_types", None) or []
    window = getattr(cfg, "sliding_window", None)
    uses_window = getattr(cfg, "use_sliding_window", True)
    if any("sliding" in str(t) for t in layer_types) or (window and uses_window and not layer_types):
        raise ValueError(
            f"model type {cfg.model_type!r} uses sliding-window attention, which a single 4-D "
            "attention mask cannot express; MuToR supports full-attention models only "
            "(Llama, Gemma 1, Qwen2 without sliding window, GPT-2)"
        )
    check_attention(getattr(config, "_attn_implementation", None))


def check_attention(impl: str | None) -> None:
    if impl is not None and impl not in ATTENTION_IMPLEMENTATIONS:
        raise ValueError(
            f"attention implementation {impl!r} is not supported with MuToR's masks; "
            f"use one of {ATTENTION_IMPLEMENTATIONS}"
        )


def check_attention_device(impl: str | None, device) -> None:
    """Before a training run builds anything: flex attention cannot train on a CPU."""
    if impl == "flex_attention" and device.type == "cpu":
        raise ValueError("model.attn_implementation=flex_attention cannot train on the CPU "
                         "(PyTorch has no FlexAttention backward there); use sdpa, or a GPU")
