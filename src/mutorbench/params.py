"""`mutor-bench params`: what a method adds to a model, counted on the meta device (no weights).

``--model`` takes a shipped architecture name (``gemma-2b``, ``llama-3-8b``), a directory with a
``config.json``, or a hub id. Added parameters: MuToR's register rows (counted twice when the output
head is untied, since each register adds a row to both embedding and unembedding); Multi-Token's
d_max - 1 decoder-layer heads and DS-Multi-Token's modules (a layer, a 2h->h projection and three
norms each), built exactly as training builds them.
"""

from __future__ import annotations

from pathlib import Path

import torch

ARCH_DIR = Path(__file__).resolve().parent / "models" / "architectures"
ARCHITECTURES = sorted(p.name for p in ARCH_DIR.iterdir() if (p / "config.json").exists())
# hub ids whose architecture ships here, so paper-scale counts need no download
HUB_ARCHITECTURES = {"google/gemma-2b": "gemma-2b", "meta-llama/Meta-Llama-3-8B": "llama-3-8b"}


def load_architecture(name_or_path: str):
    from transformers import AutoConfig

    from mutorbench.models.adapters import named_architecture

    if (named := named_architecture(name_or_path)) is not None:  # e.g. llamagen-b
        return named
    source = ARCH_DIR / name_or_path if name_or_path in ARCHITECTURES else name_or_path
    try:
        return AutoConfig.from_pretrained(source)
    except OSError as err:
        raise ValueError(f"cannot load a model config from {name_or_path!r} (shipped: "
                         f"{', '.join(shipped_architectures())}; or a directory with "
                         "config.json): "
                         f"{str(err).splitlines()[0]}") from None


def shipped_architectures() -> list[str]:
    from mutorbench.models.adapters import ADAPTERS

    return ARCHITECTURES + [name for _, a in ADAPTERS.items() for name in a.configs]


def _numel(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def run_model_config(cfg):
    """The HF config of a run's base model (a RunConfig), without weights or a download."""
    m = cfg.model
    if m.source == "pretrained":
        return load_architecture(HUB_ARCHITECTURES.get(m.name_or_path, m.name_or_path))
    if m.pretrain is not None:
        from mutorbench.models.pretrain import base_dir

        if (base_dir(cfg) / "config.json").exists():  # the built base: its exact vocabulary
            return load_architecture(str(base_dir(cfg)))
    from mutorbench.models.tiny import tiny_config_for

    return tiny_config_for(m, cfg.tokenizer.vocab_size)


def run_params(cfg) -> dict:
    """`count_params` for a run config: its model, method and (if any) LoRA."""
    return count_params(run_model_config(cfg), cfg.method, cfg.lora)


def count_params(model: str | object, method_cfg, lora_cfg=None) -> dict:
    """``model``: a shipped architecture name, a directory or hub id, or a transformers config."""
    from mutorbench.models.adapters import build_from_config
    from mutorbench.registry import METHODS

    name_or_path = model if isinstance(model, str) else model.model_type
    config = load_architecture(model) if isinstance(model, str) else model
    with torch.device("meta"):
        model = build_from_config(config)
    base = _numel(model)
    method = METHODS.get(method_cfg.id).from_config(method_cfg, seed=0)
    with torch.device("meta"):
        added = method.added_param_count(model)
    out = {"model": name_or_path, "method": method_cfg.model_dump(mode="json"),
           "base_params": base, "added_params": added, "trainable_params": base + added}
    if lora_cfg is not None:  # adapters plus the added rows (the base stays frozen)
        from mutorbench.models.lora import lora_param_count

        out["lora"] = lora_cfg.model_dump(mode="json")
        out["trainable_params"] = lora_param_count(model, lora_cfg.r) + added
    return out
