"""Acceptance 5 and the objective's bookkeeping: losses, a = 0 equivalence, register gradients,
offset sampling, register initialisation and the two reductions."""

import copy
from collections import Counter

import pytest
import torch

from mutorbench.examples import tokenize_example
from mutorbench.methods.losses import reduce
from mutorbench.methods.mutor import MuToR, sample_offsets
from mutorbench.methods.ntp import NextToken
from mutorbench.models.tiny import build_model, tiny_config
from mutorbench.models.tokenizer import train_bpe_tokenizer

TEXTS = [f"Question: what is {a} plus {b}?\n\nAnswer: {a} + {b} = {a + b}"
         for a in range(20) for b in range(20)]


@pytest.fixture(scope="module")
def tokenizer():
    return train_bpe_tokenizer(TEXTS, vocab_size=160)


def examples(tok, n=24, start=0):
    out = []
    for i in range(start, start + n):
        a, b = (7 * i) % 20, (3 * i + 1) % 20
        out.append(tokenize_example(tok, f"Question: what is {a} plus {b}?\n\nAnswer:",
                                    f" {a} + {b} = {a + b}", index=i))
    return out


def prepared(tokenizer, arch="llama", **mutor_kwargs):
    tok = copy.deepcopy(tokenizer)
    cfg = tiny_config(arch, len(tok), pad_token_id=tok.pad_token_id)
    model = build_model(cfg, seed=0)
    method = MuToR(seed=5, **mutor_kwargs)
    method.prepare(model, tok)
    return model, tok, method


def test_regular_loss_equals_next_token_loss(tokenizer):
    model, tok, mutor = prepared(tokenizer, d_max=4, a=0.3)
    ntp = NextToken()
    batch = examples(tok, 8)
    m = mutor.losses(model, mutor.build_batch(batch, pad_id=tok.pad_token_id))
    n = ntp.losses(model, ntp.build_batch(batch, pad_id=tok.pad_token_id))
    assert abs(m["loss_regular"].item() - n["loss"].item()) <= 1e-6
    assert m["loss_register"].item() > 0
    expected = 0.7 * m["loss_regular"] + 0.3 * m["loss_register"]
    assert torch.allclose(m["loss"], expected)


def train(model, method, batches, pad_id, steps):
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.0)
    losses = []
    for step in range(steps):
        batch = method.build_batch(batches[step % len(batches)], pad_id=pad_id, epoch=step)
        out = method.losses(model, batch)
        out["loss"].backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad()
        losses.append(out["loss"].item())
    return losses


@pytest.mark.parametrize("arch", ["llama", "gemma"])  # untied and tied embeddings
def test_a_zero_trains_exactly_like_next_token(tokenizer, arch):
    model, tok, mutor = prepared(tokenizer, arch, a=0.0, d_max=4)
    twin = copy.deepcopy(model)  # the same resized model for the next-token arm
    data = examples(tok, 24)
    batches = [data[i:i + 6] for i in range(0, 24, 6)]
    mutor_losses = train(model, mutor, batches, tok.pad_token_id, 20)
    ntp_losses = train(twin, NextToken(), batches, tok.pad_token_id, 20)
    assert max(abs(x - y) for x, y in zip(mutor_losses, ntp_losses)) <= 1e-5
    assert ntp_losses[-1] < ntp_losses[0] - 0.5  # it did train


@pytest.mark.parametrize("a,expect_grad", [(0.3, True), (0.0, False)])
def test_register_row_gets_gradient_through_its_input_embedding(tokenizer, a, expect_grad):
    model, tok, mutor = prepared(tokenizer, "llama", a=a)  # llama: untied, so input grad is pure
    reg = mutor.register_ids[0]
    out = mutor.losses(model, mutor.build_batch(examples(tok, 6), pad_id=tok.pad_token_id))
    out["loss"].backward()
    grad = model.get_input_embeddings().weight.grad[reg]
    assert (grad.abs().sum().item() > 0) == expect_grad


def test_register_init_is_seeded_recorded_and_leaves_global_rng_alone(tokenizer):
    state_before = torch.random.get_rng_state()
    model, tok, mutor = prepared(tokenizer, "llama")
    assert torch.equal(torch.random.get_rng_state(), state_before)
    reg = mutor.register_ids[0]
    assert reg == len(tokenizer)  # appended after the base vocabulary
    assert tok.convert_ids_to_tokens(reg) == "<reg>"
    row = model.get_input_embeddings().weight[reg].detach()
    std = model.config.initializer_range
    expected = torch.randn(1, row.numel(), generator=torch.Generator().manual_seed(5))[0] * std
    assert torch.equal(row, expected)
    init = mutor.hyperparameters()["register_init"]
    assert init == {"rule": "normal", "mean": 0.0, "std": std, "generator_seed": 5,
                    "rows": [reg], "output_head": "normal"}
    # the base weights are those of a model that never saw registers
    base = build_model(tiny_config("llama", len(tokenizer), pad_token_id=0), seed=0)
    emb = model.get_input_embeddings().weight
    assert torch.equal(emb[:reg], base.get_input_embeddings().weight)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_registers_are_added_to_a_model_already_on_the_gpu(tokenizer):
    """The rows are drawn on the CPU and moved to the table's device: the same rows as on a CPU
    model (a GPU run of benchmarks/gpu_throughput.py once failed here with mixed devices)."""
    tok = copy.deepcopy(tokenizer)
    cfg = tiny_config("llama", len(tok), pad_token_id=tok.pad_token_id)
    model = build_model(cfg, seed=0).cuda()
    method = MuToR(seed=5)
    method.prepare(model, tok)
    row = model.get_input_embeddings().weight[method.register_ids[0]].detach().cpu()
    gen = torch.Generator().manual_seed(5)
    assert torch.equal(row, torch.randn(1, row.numel(), generator=gen)[0] * cfg.initializer_range)


def test_per_offset_registers(tokenizer):
    _, tok, mutor = prepared(tokenizer, d_max=3, registers="per_offset")
    assert tok.convert_ids_to_tokens(mutor.register_ids) == ["<reg_1>", "<reg_2>", "<reg_3>"]
    batch = mutor.build_batch(examples(tok, 16), pad_id=tok.pad_token_id)
    offsets = sample_offsets(5, 0, range(16), 1, 3)
    for b, d in enumerate(offsets):
        used = set(batch.input_ids[b][batch.is_register[b]].tolist())
        assert used == {mutor.register_ids[d - 1]}


def test_offsets_are_a_function_of_seed_epoch_and_index():
    a = sample_offsets(1, 0, [5, 9, 2, 7], 1, 4)
    b = sample_offsets(1, 0, [2, 7], 1, 4)
    assert a[2:] == b  # independent of the batch an example lands in
    many = sample_offsets(1, 0, range(100), 1, 4)
    assert sample_offsets(1, 1, range(100), 1, 4) != many  # a new epoch redraws
    assert sample_offsets(2, 0, range(100), 1, 4) != many  # so does a new seed
    draws = sample_offsets(0, 0, range(8000), 2, 5)
    counts = Counter(draws)
    assert set(counts) == {2, 3, 4, 5}
    assert all(abs(c - 2000) < 150 for c in counts.values())  # ~4.7 sigma of a fair uniform


def test_reductions_by_hand():
    ce = torch.tensor([[1.0, 2.0, 3.0, 0.0], [4.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]])
    sel = torch.tensor([[1, 1, 1, 0], [1, 0, 0, 0], [0, 0, 0, 0]], dtype=torch.bool)
    # per example: (2 + 4) / 2 (the third example has no selected token and is skipped)
    assert reduce(ce, sel, "per_example").item() == pytest.approx(3.0)
    assert reduce(ce, sel, "token").item() == pytest.approx(10.0 / 4)
    assert reduce(ce, torch.zeros_like(sel), "per_example").item() == 0.0
    with pytest.raises(ValueError, match="reduction"):
        reduce(ce, sel, "mean")


@pytest.mark.parametrize("attn", ["sdpa", "eager"])
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_low_precision_losses_and_gradients_are_finite(tokenizer, attn, dtype):
    tok = copy.deepcopy(tokenizer)
    cfg = tiny_config("llama", len(tok), pad_token_id=tok.pad_token_id)
    model = build_model(cfg, seed=0, attn_implementation=attn, dtype=dtype)
    mutor = MuToR(seed=1, a=0.3)
    mutor.prepare(model, tok)
    batch = mutor.build_batch(examples(tok, 8), pad_id=tok.pad_token_id)  # float32 mask
    assert batch.model_kwargs(dtype)["attention_mask"].dtype == dtype
    assert batch.model_kwargs(dtype)["attention_mask"].min() == torch.finfo(dtype).min
    out = mutor.losses(model, batch)
    out["loss"].backward()
    assert all(torch.isfinite(v) for v in out.values())
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
    fp32 = copy.deepcopy(model).float()  # the same weights, computed in float32
    assert abs(mutor.losses(fp32, batch)["loss"].item() - out["loss"].item()) < 0.05
