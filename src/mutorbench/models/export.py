"""Export a trained model as the unchanged base architecture, whatever the method.

Inference never uses what a method added for training: LoRA adapters are merged into the weights
(peft's ``merge_and_unload``), Multi-Token / DS-Multi-Token modules are dropped, register rows are
stripped and the original tokenizer is saved. The result loads with plain
``AutoModelForCausalLM.from_pretrained`` and generates as the trained model does with registers
suppressed.
"""

from __future__ import annotations

from pathlib import Path


def export_model(model, method, tokenizer, path: str | Path) -> Path:
    """Save ``model`` (maybe DDP- or peft-wrapped) to ``path``; returns ``path``.

    A LoRA model is merged in place (its wrapper is consumed: export last). The method saves the
    rest (MuToR strips its register rows; Multi-Token detaches its heads for the save and puts
    them back, so a model still in use keeps training as before).
    """
    path = Path(path)
    model = getattr(model, "module", model)  # DDP
    if hasattr(model, "merge_and_unload"):  # peft
        model = model.merge_and_unload()
    method.export(model, tokenizer, path)  # the method strips what it added
    return path
