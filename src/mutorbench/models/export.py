"""Export a trained model as the unchanged base architecture, whatever the method.

Inference never uses what a method added for training: LoRA adapters are merged into the weights
(peft's ``merge_and_unload``), Multi-Token / DS-Multi-Token modules are dropped, register rows are
stripped and the original tokenizer is saved. The result loads with plain
``AutoModelForCausalLM.from_pretrained`` and generates as the trained model does with registers
suppressed.
"""

from __future__ import annotations

from pathlib import Path

from mutorbench.methods.multi_token import HEADS_ATTR, detach_heads
from mutorbench.models.registers import save_without_registers


def export_model(model, method, tokenizer, path: str | Path) -> Path:
    """Save ``model`` (maybe DDP- or peft-wrapped) to ``path``; returns ``path``.

    A LoRA model is merged in place (its wrapper is consumed: export last). Heads are detached for
    the save and put back, so a model still in use keeps training as before.
    """
    path = Path(path)
    model = getattr(model, "module", model)  # DDP
    if hasattr(model, "merge_and_unload"):  # peft
        model = model.merge_and_unload()
    heads = detach_heads(model)
    try:
        state = getattr(method, "state", None)  # MuToR's registers
        if state is not None:
            save_without_registers(model, state, path)
        else:
            model.save_pretrained(path)
            tokenizer.save_pretrained(path)
    finally:
        if heads is not None:
            setattr(model, HEADS_ATTR, heads)
    return path
