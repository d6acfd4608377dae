"""Register tokens: add them to a tokenizer and model, initialise their rows, strip them on export.

Registers are appended as special tokens with new embedding rows. The rows are drawn from a
generator seeded by the method's own seed, so adding them never consumes the global RNG and the base
weights of paired arms stay identical. Exported models have the rows removed and the original
tokenizer saved, so they load and generate as plain causal LMs.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path

import torch
from tokenizers import AddedToken


@dataclass
class RegisterState:
    token_ids: list[int]
    base_num_embeddings: int  # embedding rows before registers were added
    base_tokenizer: object  # the tokenizer without register tokens (saved on export)
    init: dict  # the recorded initialisation rule
    # Rows that existed before (padding rows of a padded vocabulary) and were overwritten.
    overwritten_rows: dict[int, tuple[torch.Tensor, torch.Tensor | None]] = field(default_factory=dict)


def _embedding_tables(model) -> tuple[torch.nn.Parameter, torch.nn.Parameter | None]:
    """Input embedding weight and, when untied, the output head weight."""
    inp = model.get_input_embeddings().weight
    out_module = model.get_output_embeddings()
    out = None if out_module is None or out_module.weight is inp else out_module.weight
    return inp, out


def init_std(model) -> float:
    cfg = model.config
    std = getattr(cfg, "initializer_range", None)
    if std is None and hasattr(cfg, "get_text_config"):
        std = getattr(cfg.get_text_config(), "initializer_range", None)
    return float(std if std is not None else 0.02)


def add_registers(model, tokenizer, names: list[str], *, seed: int, std: float | None = None):
    """Add ``names`` as special tokens; new rows ~ normal(0, std) from a generator seeded by ``seed``.

    ``std`` defaults to the config's ``initializer_range`` (what the paper's transformers 4.43 drew).
    An untied output head gets its own independently drawn rows, as resize did in the paper's code.
    """
    from mutorbench.models.adapters import adapter_for

    if adapter_for(model).add_rows is not None:
        return _add_own_rows(model, tokenizer, names, seed=seed, std=std)
    base_tokenizer = copy.deepcopy(tokenizer)
    inp, _ = _embedding_tables(model)
    base_rows = inp.shape[0]
    added = tokenizer.add_tokens([AddedToken(n, special=True, normalized=False) for n in names],
                                 special_tokens=True)
    if added != len(names):
        raise ValueError(f"register tokens {names} already exist in the tokenizer")
    ids = tokenizer.convert_tokens_to_ids(names)
    if len(tokenizer) > base_rows:
        # fork_rng: transformers initialises the new rows from the global RNG; we overwrite them.
        with torch.random.fork_rng(devices=[]):
            model.resize_token_embeddings(len(tokenizer), mean_resizing=False)

    std = init_std(model) if std is None else float(std)
    gen = torch.Generator().manual_seed(seed)
    inp, out = _embedding_tables(model)
    state = RegisterState(
        token_ids=list(ids),
        base_num_embeddings=base_rows,
        base_tokenizer=base_tokenizer,
        init={"rule": "normal", "mean": 0.0, "std": std, "generator_seed": seed,
              "rows": list(ids), "output_head": "tied" if out is None else "normal"},
    )
    with torch.no_grad():
        for row in ids:
            if row < base_rows:
                state.overwritten_rows[row] = (
                    inp[row].detach().clone(), None if out is None else out[row].detach().clone()
                )
        for table in (inp, out):
            if table is None:
                continue
            # drawn on the CPU (the same rows on every device), then moved to the table's device
            fresh = torch.randn(len(ids), table.shape[1], generator=gen) * std
            table[ids] = fresh.to(device=table.device, dtype=table.dtype)
    return state


def _add_own_rows(model, tokenizer, names, *, seed: int, std: float | None) -> RegisterState:
    """A family with its own table for added tokens (LlamaGen: the head predicts codes only)."""
    from mutorbench.models.adapters import adapter_for

    base_tokenizer = copy.deepcopy(tokenizer)
    if tokenizer.add_tokens(names, special_tokens=True) != len(names):
        raise ValueError(f"register tokens {names} already exist in the vocabulary")
    std = init_std(model) if std is None else float(std)
    adapter = adapter_for(model)
    ids = adapter.add_rows(model, len(names), std=std,
                           generator=torch.Generator().manual_seed(seed))
    if ids != tokenizer.convert_tokens_to_ids(names):
        raise ValueError(f"the model numbered the added tokens {ids}, the vocabulary "
                         f"{tokenizer.convert_tokens_to_ids(names)}")
    return RegisterState(token_ids=ids, base_num_embeddings=adapter.embeddings_of(model)
                         .num_embeddings, base_tokenizer=base_tokenizer,
                         init={"rule": "normal", "mean": 0.0, "std": std, "generator_seed": seed,
                               "rows": ids, "output_head": "none: the head predicts codes only"})


def export_state_dict(model, state: RegisterState) -> dict[str, torch.Tensor]:
    """The model's state dict with register rows removed (or restored, for padding rows)."""
    inp, out = _embedding_tables(model)
    sliced = {}
    for table, which in ((inp, 0), (out, 1)):
        if table is None:
            continue
        rows = table.detach()[: state.base_num_embeddings].clone()
        for row, saved in state.overwritten_rows.items():
            rows[row] = saved[which]
        sliced[id(table)] = rows
    result = {}
    for name, tensor in model.state_dict(keep_vars=True).items():
        result[name] = sliced.get(id(tensor), tensor.detach())
    return result


def save_without_registers(model, state: RegisterState, path: str | Path) -> None:
    """Save a plain causal LM (no register rows, original tokenizer) loadable by AutoModelForCausalLM."""
    path = Path(path)
    cfg = model.config
    text_cfg = cfg.get_text_config() if hasattr(cfg, "get_text_config") else cfg
    trained_vocab = text_cfg.vocab_size
    text_cfg.vocab_size = state.base_num_embeddings
    try:
        model.save_pretrained(path, state_dict=export_state_dict(model, state))
    finally:
        text_cfg.vocab_size = trained_vocab
    state.base_tokenizer.save_pretrained(path)
