"""Export: every method (with and without LoRA) gives back the base model, generating as trained."""

import copy

import pytest
import torch
from transformers import AutoModelForCausalLM

from mutorbench.evaluation.generation import greedy_generate
from mutorbench.examples import Example
from mutorbench.methods.losses import combine
from mutorbench.methods.multi_token import HEADS_ATTR
from mutorbench.models.export import export_model
from mutorbench.models.tiny import build_model, tiny_config
from mutorbench.models.tokenizer import train_bpe_tokenizer
from mutorbench.train.build import build_method
from mutorbench.train.config import load_config

pytest.importorskip("peft")

CASES = [("ntp", "none"), ("mutor", "none"), ("multi_token", "none"), ("ds_multi_token", "none"),
         ("ntp", "lora"), ("mutor", "lora")]


@pytest.fixture(scope="module")
def tokenizer():
    return train_bpe_tokenizer([f"{i} apples and {i + 3} pens" for i in range(100)], 300)


@pytest.mark.parametrize("method_id,peft", CASES)
def test_export_loads_as_plain_base_model_and_generates_as_trained(tmp_path, tokenizer, method_id,
                                                                     peft):
    tok = copy.deepcopy(tokenizer)
    model = build_model(tiny_config("gemma", len(tok), hidden_size=32, num_layers=2, num_heads=2,
                                    pad_token_id=tok.pad_token_id), seed=0)
    base_keys, base_vocab = set(model.state_dict()), len(tok)
    lora_sets = ["lora.r=4", "lora.alpha=8"] if peft == "lora" else []  # lora only with peft
    cfg = load_config(None, [f"method.id={method_id}", f"peft={peft}", *lora_sets]
                      + (["method.d_max=3", "method.registers=per_offset"]
                         if method_id == "mutor" else ["method.d_max=3"] * (method_id != "ntp")))
    method = build_method(cfg.method, seed=1)
    method.prepare(model, tok)
    if peft == "lora":
        from mutorbench.models.lora import apply_lora

        model = apply_lora(model, cfg.lora, trainable_token_ids=getattr(method, "register_ids", []))
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=5e-2)
    batch = method.build_batch([Example([1, 5, 6, 7], [8, 9, 10, 11, 2], 0),
                                Example([1, 11], [12, 13, 14, 2], 1)], pad_id=tok.pad_token_id)
    for _ in range(3):  # enough to move every trained part away from its initial value
        combine(method.loss_terms(model, batch), method.loss_weights()).backward()
        opt.step()
        opt.zero_grad()
    model.eval()
    prompts = [tok(f"{i} apples and")["input_ids"] for i in range(4)]
    kw = {"max_new_tokens": 8, "eos_id": tok.eos_token_id, "pad_id": tok.pad_token_id}
    trained = greedy_generate(model, prompts, suppress_ids=method.suppress_ids(), **kw)
    with torch.no_grad():
        trained_logits = model(input_ids=torch.tensor([prompts[0]])).logits[..., :base_vocab]

    export_model(model, method, tok, tmp_path / "export")
    reloaded = AutoModelForCausalLM.from_pretrained(tmp_path / "export").eval()
    assert type(reloaded).__name__ == "GemmaForCausalLM"
    assert set(reloaded.state_dict()) == base_keys  # no adapters, heads or extra modules
    assert reloaded.config.vocab_size == base_vocab  # no register rows
    assert greedy_generate(reloaded, prompts, **kw) == trained
    with torch.no_grad():
        exported_logits = reloaded(input_ids=torch.tensor([prompts[0]])).logits
    if peft == "lora":  # merged W + BA rounds differently from W x + B(A x)
        torch.testing.assert_close(exported_logits, trained_logits, atol=1e-5, rtol=1e-5)
    else:
        assert torch.equal(exported_logits, trained_logits)
    if method_id in ("multi_token", "ds_multi_token"):  # heads put back on the training model
        assert hasattr(model, HEADS_ATTR)


def test_train_with_export_writes_the_plain_model(tmp_path):
    from mutorbench.train.loop import train
    from tests.runs import tiny_run

    path = train(tiny_run(tmp_path, "mutor", "peft=lora", "lora.r=4", "export=true"),
                 progress=False)
    reloaded = AutoModelForCausalLM.from_pretrained(path.parent / "model")
    from transformers import AutoTokenizer

    assert reloaded.config.vocab_size == len(AutoTokenizer.from_pretrained(path.parent / "model"))
    assert not any("lora" in k for k in reloaded.state_dict())
