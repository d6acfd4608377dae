"""Acceptance 7: bidirectional-prefix generation, causal generation vs HF generate, export/reload."""

import random

import pytest
import torch
from transformers import AutoModelForCausalLM

from mutorbench import masks
from mutorbench.evaluation.generation import greedy_generate
from mutorbench.methods.mutor import MuToR
from mutorbench.models.registers import save_without_registers
from mutorbench.models.tiny import build_model, tiny_config
from mutorbench.models.tokenizer import train_bpe_tokenizer
from tests.helpers import ARCHS, BOS, EOS, PAD, REG, VOCAB


def prompts_for(seed, n=5):
    rng = random.Random(seed)
    return [[BOS] + [rng.randrange(3, REG) for _ in range(rng.randint(1, 9))] for _ in range(n)]


def manual_decode(model, prompt, steps, mode, suppress=()):
    """No cache, no padding: re-run the whole sequence each step with the prefix mask."""
    seq = list(prompt)
    out = []
    for _ in range(steps):
        n = len(seq)
        idx = torch.arange(n)[None]
        horizon = masks.prompt_horizon(idx, torch.tensor([[len(prompt)]]), mode)
        mask = masks.additive_mask(masks.visibility(idx, horizon))
        with torch.no_grad():
            logits = model(input_ids=torch.tensor([seq]), position_ids=idx,
                           attention_mask=mask).logits[0, -1]
        logits[list(suppress)] = torch.finfo(logits.dtype).min
        tok = int(logits.argmax())
        if tok == EOS:
            break
        out.append(tok)
        seq.append(tok)
    return out


@pytest.mark.parametrize("attn", ["sdpa", "eager"])
@pytest.mark.parametrize("arch", ARCHS)
def test_bidirectional_generation_equals_manual_decode(tiny_models, arch, attn):
    model = tiny_models(arch, attn)
    prompts = prompts_for(1)
    got = greedy_generate(model, prompts, max_new_tokens=12, eos_id=EOS, pad_id=PAD)
    for p, g in zip(prompts, got):
        assert g == manual_decode(model, p, 12, "bidirectional")
    assert sum(len(g) for g in got) > 20  # it generated something to compare


@pytest.mark.parametrize("arch", ARCHS)
def test_causal_generation_equals_hf_generate(tiny_models, arch):
    model = tiny_models(arch, "sdpa")
    prompts = prompts_for(2)
    got = greedy_generate(model, prompts, max_new_tokens=10, eos_id=EOS, pad_id=PAD,
                          prefix_attention="causal")
    for p, g in zip(prompts, got):  # one at a time: HF's own left-padding is not under test
        ids = torch.tensor([p])
        ref = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=10,
                             do_sample=False, eos_token_id=EOS, pad_token_id=PAD)[0, len(p):]
        ref = ref.tolist()
        assert g == (ref[: ref.index(EOS)] if EOS in ref else ref)


def test_suppressed_ids_are_never_generated(tiny_models):
    model = tiny_models("llama", "sdpa")
    prompts = prompts_for(3)
    free = greedy_generate(model, prompts, max_new_tokens=8, eos_id=EOS, pad_id=PAD)
    banned = {t for g in free for t in g}
    assert banned  # suppress every token the model wanted to generate
    got = greedy_generate(model, prompts, max_new_tokens=8, eos_id=EOS, pad_id=PAD,
                          suppress_ids=sorted(banned))
    assert not banned & {t for g in got for t in g}
    for p, g in zip(prompts, got):
        assert g == manual_decode(model, p, 8, "bidirectional", suppress=banned)


def test_prompt_longer_than_the_model_limit_is_refused():
    model = build_model(tiny_config("llama", VOCAB, max_positions=16), seed=0)
    with pytest.raises(ValueError, match="max_position_embeddings"):
        greedy_generate(model, [[BOS] * 10], max_new_tokens=8, eos_id=EOS, pad_id=PAD)
    with pytest.raises(ValueError, match="at least one token"):
        greedy_generate(model, [[]], max_new_tokens=8, eos_id=EOS, pad_id=PAD)


@pytest.mark.parametrize("arch", ["llama", "gemma", "gpt2"])
def test_exported_mutor_model_is_a_plain_causal_lm(tmp_path, arch):
    tok = train_bpe_tokenizer([f"x{i} y{i * 7} z{i % 5}" for i in range(300)], vocab_size=120)
    base_vocab = len(tok)
    model = build_model(tiny_config(arch, base_vocab, pad_token_id=tok.pad_token_id), seed=1)
    method = MuToR(seed=3, d_max=3, registers="per_offset")
    method.prepare(model, tok)
    model.eval()
    prompts = [tok(f"x{i} y")["input_ids"] for i in range(4)]
    kwargs = dict(max_new_tokens=10, eos_id=tok.eos_token_id, pad_id=tok.pad_token_id)
    first = greedy_generate(model, prompts, **kwargs)[0][0]
    with torch.no_grad():  # make the registers the model's favourite tokens, so a leak would show
        out = model.get_output_embeddings().weight
        out[method.register_ids] = 4 * out[first]
    leaked = greedy_generate(model, prompts, **kwargs)
    assert set(method.register_ids) & {t for g in leaked for t in g}
    in_memory = greedy_generate(model, prompts, suppress_ids=method.register_ids, **kwargs)
    assert not set(method.register_ids) & {t for g in in_memory for t in g}

    save_without_registers(model, method.state, tmp_path / "export")
    reloaded = AutoModelForCausalLM.from_pretrained(tmp_path / "export").eval()
    assert reloaded.get_input_embeddings().weight.shape[0] == base_vocab
    assert reloaded.config.vocab_size == base_vocab
    assert model.get_input_embeddings().weight.shape[0] == base_vocab + 3  # training copy untouched
    assert greedy_generate(reloaded, prompts, **kwargs) == in_memory
    from transformers import AutoTokenizer
    assert len(AutoTokenizer.from_pretrained(tmp_path / "export")) == base_vocab
    # plain HF generate (causal prefill) of the exported model matches our causal decode
    ids = torch.tensor([prompts[0]])
    ref = reloaded.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=10,
                            do_sample=False, eos_token_id=tok.eos_token_id,
                            pad_token_id=tok.pad_token_id)[0, len(prompts[0]):].tolist()
    ours = greedy_generate(reloaded, prompts[:1], prefix_attention="causal", **kwargs)[0]
    assert ours == (ref[: ref.index(tok.eos_token_id)] if tok.eos_token_id in ref else ref)
