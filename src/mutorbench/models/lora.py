"""LoRA through peft: adapters on every linear layer, plus trainable rows for added tokens only.

MuToR's register rows stay trainable through peft's ``trainable_token_indices`` (a delta on those
rows alone), so the rest of the embedding matrix is frozen bit for bit. ``merge_and_unload`` gives
back a plain transformers model.
"""

from __future__ import annotations

from collections.abc import Sequence


def apply_lora(model, lora_cfg, *, trainable_token_ids: Sequence[int] = ()):
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(
        r=lora_cfg.r, lora_alpha=lora_cfg.alpha, lora_dropout=lora_cfg.dropout,
        target_modules=lora_cfg.target_modules, task_type="CAUSAL_LM",
        trainable_token_indices=({"embed_tokens": list(trainable_token_ids)}
                                 if trainable_token_ids else None))
    return get_peft_model(model, config)


def lora_param_count(model, r: int) -> int:
    """Adapter parameters of rank ``r`` on every linear layer of the decoder stack (not the head)."""
    import torch

    from mutorbench.models.adapters import adapter_for

    layers = adapter_for(model).layers_of(model)
    return sum(r * (m.in_features + m.out_features)
               for m in layers.modules() if isinstance(m, torch.nn.Linear))
