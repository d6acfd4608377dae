"""LoRA via peft: only adapters and register rows train; merging gives back a plain model."""

import copy

import pytest
import torch

from mutorbench.examples import Example
from mutorbench.methods.mutor import MuToR
from mutorbench.models.lora import apply_lora
from mutorbench.models.tiny import build_model, tiny_config
from mutorbench.models.tokenizer import train_bpe_tokenizer
from mutorbench.train.config import LoraConfig, load_config

pytest.importorskip("peft")


@pytest.fixture(scope="module")
def tokenizer():
    return train_bpe_tokenizer([f"{i} apples and {i + 3} pens" for i in range(100)], 300)


@pytest.mark.parametrize("arch", ["gemma", "llama"])  # tied and untied output heads
def test_lora_mutor_step_changes_only_adapters_and_register_rows(tokenizer, arch):
    tok = copy.deepcopy(tokenizer)
    cfg = tiny_config(arch, len(tok), hidden_size=32, num_layers=2, num_heads=2,
                      pad_token_id=tok.pad_token_id)
    model = build_model(cfg, seed=0)
    method = MuToR(d_max=3, registers="per_offset", seed=1)
    method.prepare(model, tok)
    base_weight = model.get_input_embeddings().weight  # the frozen matrix itself
    embed_before = base_weight.detach().clone()
    peft_model = apply_lora(model, LoraConfig(r=4, alpha=8), trainable_token_ids=method.register_ids)
    before = {n: p.detach().clone() for n, p in peft_model.named_parameters()}
    trainable = {n for n, p in peft_model.named_parameters() if p.requires_grad}
    assert trainable and all("lora_" in n or "trainable_tokens" in n for n in trainable)
    opt = torch.optim.AdamW([p for p in peft_model.parameters() if p.requires_grad], lr=1e-2)
    batch = method.build_batch([Example([1, 5, 6, 7], [8, 9, 10, 2], 0),
                                Example([1, 11], [12, 13, 2], 1)], pad_id=tok.pad_token_id)
    for _ in range(2):  # two steps: lora_B moves first, then lora_A
        method.losses(peft_model, batch)["loss"].backward()
        opt.step()
        opt.zero_grad()
    changed = {n for n, p in peft_model.named_parameters() if not torch.equal(before[n], p)}
    assert changed and changed <= trainable
    assert any("lora_A" in n for n in changed) and any("trainable_tokens" in n for n in changed)
    assert torch.equal(base_weight, embed_before)  # the embedding matrix is frozen bit for bit
    # the trained register rows (and only those) differ in the effective embedding
    merged = peft_model.merge_and_unload()
    delta = (merged.get_input_embeddings().weight - embed_before).abs().sum(dim=1)
    assert set(torch.nonzero(delta).flatten().tolist()) == set(method.register_ids)


def test_lora_run_end_to_end_and_config_errors(tmp_path):
    from mutorbench.results import load_result
    from mutorbench.train.loop import train
    from tests.runs import tiny_run

    path = train(tiny_run(tmp_path, "mutor", "peft=lora", "lora.r=4"), progress=False)
    r = load_result(path)
    assert r.config["peft"] == "lora" and r.config["lora"]["r"] == 4
    with pytest.raises(ValueError, match="lora supports methods ntp, mutor, not 'multi_token'"):
        load_config(None, ["method.id=multi_token", "peft=lora"])
