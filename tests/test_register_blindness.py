"""Invariant 1 and 2 on real Hugging Face models: registers change nothing for regular tokens, and a
register computes exactly the paper's definition."""

import random

import pytest
import torch

from mutorbench.methods.mutor import build_mutor_inputs
from mutorbench.methods.ntp import build_ntp_inputs
from tests.helpers import ARCHS, ATTN, PAD, REG, random_batch


def regular_logits(batch, logits, b):
    keep = ~batch.is_register[b] & (torch.arange(batch.input_ids.shape[1]) < batch.lengths[b])
    return logits[b][keep]


@pytest.mark.parametrize("attn", ATTN)
@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("mode", ["bidirectional", "causal"])
def test_regular_logits_equal_register_free_logits(tiny_models, arch, attn, mode):
    model = tiny_models(arch, attn)
    rng = random.Random(hash((arch, attn, mode)) % 1000)
    for _ in range(3):
        prompts, answers, offsets = random_batch(rng, 6, max_prompt=12, max_answer=14, max_d=6)
        mutor = build_mutor_inputs(prompts, answers, offsets=offsets, register_id=REG,
                                   pad_id=PAD, prefix_attention=mode)
        ntp = build_ntp_inputs(prompts, answers, pad_id=PAD, prefix_attention=mode)
        assert mutor.is_register.any()
        with torch.no_grad():
            lm = model(**mutor.model_kwargs()).logits
            ln = model(**ntp.model_kwargs()).logits
        for b in range(len(prompts)):
            n = int(ntp.lengths[b])
            delta = (regular_logits(mutor, lm, b) - ln[b, :n]).abs().max().item()
            assert delta <= 1e-5, (arch, attn, b, delta)


@pytest.mark.parametrize("attn", ATTN)
@pytest.mark.parametrize("arch", ARCHS)
def test_register_logits_follow_the_paper_definition(tiny_models, arch, attn):
    """Register after x_t with offset d == plain forward of x_<=t plus one register at position t+d-1."""
    model = tiny_models(arch, attn)
    rng = random.Random(7)
    prompts, answers, offsets = random_batch(rng, 5, max_prompt=8, max_answer=10, max_d=4)
    batch = build_mutor_inputs(prompts, answers, offsets=offsets, register_id=REG, pad_id=PAD,
                               prefix_attention="causal")
    with torch.no_grad():
        logits = model(**batch.model_kwargs()).logits
    checked = 0
    for b, (p, a, d) in enumerate(zip(prompts, answers, offsets)):
        x = p + a
        slots = batch.is_register[b].nonzero().flatten().tolist()
        for j, slot in enumerate(slots):
            t = len(p) + j - 1  # the register follows x_t (0-based)
            ids = torch.tensor([x[: t + 1] + [REG]])
            pos = torch.tensor([list(range(t + 1)) + [t + d - 1]])
            with torch.no_grad():  # explicit 2-D mask: plain causal attention, no packing heuristics
                ref = model(input_ids=ids, position_ids=pos,
                            attention_mask=torch.ones_like(ids)).logits[0, -1]
            assert (logits[b, slot] - ref).abs().max().item() <= 1e-5
            assert int(batch.labels[b, slot]) == x[t + d]
            checked += 1
    assert checked > 5


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("attn", ATTN)
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_batched_equals_per_example_and_no_nan(tiny_models, arch, attn, dtype):
    model = tiny_models(arch, attn, dtype)
    prompts, answers, offsets = random_batch(random.Random(11), 8, max_prompt=10, max_answer=12)
    batch = build_mutor_inputs(prompts, answers, offsets=offsets, register_id=REG, pad_id=PAD,
                               dtype=dtype)
    with torch.no_grad():
        logits = model(**batch.model_kwargs()).logits
    assert torch.isfinite(logits).all()  # padded rows included
    tol = 1e-5 if dtype == torch.float32 else 1e-2  # bf16: a few ulps at |logit| ~ 1
    for b in range(8):
        one = build_mutor_inputs([prompts[b]], [answers[b]], offsets=[offsets[b]],
                                 register_id=REG, pad_id=PAD, dtype=dtype)
        with torch.no_grad():
            alone = model(**one.model_kwargs()).logits[0]
        n = int(one.lengths[0])
        assert (logits[b, :n].float() - alone.float()).abs().max().item() <= tol
