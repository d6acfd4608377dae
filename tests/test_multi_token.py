"""Multi-Token heads (Gloeckle et al.): label shifts, a = 0 equivalence, no leaks, clean export."""

import random

import pytest
import torch

from mutorbench.examples import Example
from mutorbench.methods.layout import IGNORE_INDEX
from mutorbench.methods.losses import combine
from mutorbench.methods.multi_token import (
    HEADS_ATTR,
    DSMultiToken,
    MultiToken,
    detach_heads,
    shift_labels,
)
from mutorbench.methods.ntp import NextToken
from mutorbench.models.tiny import build_model, tiny_config
from tests.helpers import PAD, VOCAB, random_batch


def model_for(arch="llama", seed=0):
    cfg = tiny_config(arch, VOCAB, hidden_size=32, num_layers=2, num_heads=2, pad_token_id=PAD)
    return build_model(cfg, seed=seed)


def batch_of(method, seed=0, n=4):
    prompts, answers, _ = random_batch(random.Random(seed), n)
    return method.build_batch([Example(p, a, i) for i, (p, a) in enumerate(zip(prompts, answers))],
                              pad_id=PAD)


def test_head_k_targets_are_the_inputs_shifted_by_k_plus_1():
    method = MultiToken(d_max=3)
    b = method.build_batch([Example([1, 10, 11], [20, 21, 22, 2], 0)], pad_id=PAD)
    ids = b.input_ids[0].tolist()  # [1, 10, 11, 20, 21, 22, 2]
    assert b.labels[0].tolist() == [-100, -100, 20, 21, 22, 2, -100]
    for k in (1, 2):
        got = shift_labels(b.labels, k)[0].tolist()
        want = [ids[t + k + 1] if t + k + 1 < len(ids) and t + k + 1 >= 3 else IGNORE_INDEX
                for t in range(len(ids))]
        assert got == want
    assert method.loss_counts(b) == {"regular": 1, "head1": 1, "head2": 1}


@pytest.mark.parametrize("cls", [MultiToken, DSMultiToken])
@pytest.mark.parametrize("arch", ["llama", "gemma", "qwen2"])
def test_with_a_zero_the_loss_is_the_next_token_loss(arch, cls):
    model = model_for(arch)
    method = cls(d_max=3, a=0.0, seed=1)
    method.prepare(model, None)
    b = batch_of(method)
    terms = method.loss_terms(model, b)
    ntp = NextToken()
    base = ntp.loss_terms(model, ntp.build_batch(
        [Example(*pa, i) for i, pa in enumerate(zip(*random_batch(random.Random(0), 4)[:2]))],
        pad_id=PAD))["regular"].value
    loss = combine(terms, method.loss_weights())
    assert torch.allclose(loss, base, atol=1e-6) and set(terms) == {"regular", "head1", "head2"}
    assert all(t.value > 0 for t in terms.values())


@pytest.mark.parametrize("make", [lambda: MultiToken(d_max=4, trunk="last_layer_input", seed=2),
                                  lambda: MultiToken(d_max=4, trunk="final", seed=2),
                                  lambda: DSMultiToken(d_max=4, seed=2)])
def test_no_head_sees_the_token_it_is_scored_against(make):
    torch.manual_seed(0)
    model = model_for("llama").eval()
    method = make()
    method.prepare(model, None)
    b = method.build_batch([Example([1, 10, 11, 12], [20, 21, 22, 23, 24, 2], 0)], pad_id=PAD)
    with torch.no_grad():
        before = method.head_logits(model, b)
        for p in range(5, b.input_ids.shape[1]):  # every answer position after the first
            changed = b.input_ids.clone()
            changed[0, p:] = torch.tensor([30 + j for j in range(changed.shape[1] - p)])
            b2 = type(b)(**{**b.__dict__, "input_ids": changed})
            after = method.head_logits(model, b2)
            for k, (x, y) in enumerate(zip(before, after)):
                # logits scored against the token at p sit at t = p - k - 1 and earlier
                t = p - k - 1
                assert torch.equal(x[0, : t + 1], y[0, : t + 1]), (k, p)


@pytest.mark.parametrize("cls", [MultiToken, DSMultiToken])
def test_heads_train_and_export_leaves_the_base_model(tmp_path, cls):
    model = model_for("gemma")
    base_state = {k: v.clone() for k, v in model.state_dict().items()}
    method = cls(d_max=3, a=0.5, seed=3)
    method.prepare(model, None)
    layer_params = sum(p.numel() for p in model.model.layers[0].parameters())
    extra = 0 if cls is MultiToken else 2 * (2 * 32 * 32 + 3 * 32)  # projection + 3 norms
    assert method.added_params == 2 * layer_params + extra
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    loss = combine(method.loss_terms(model, batch_of(method)), method.loss_weights())
    loss.backward()
    head_grads = [p.grad for p in getattr(model, HEADS_ATTR).parameters()]
    assert all(g is not None and g.abs().sum() > 0 for g in head_grads)
    opt.step()
    heads = detach_heads(model)
    assert heads is not None and not hasattr(model, HEADS_ATTR)
    assert set(model.state_dict()) == set(base_state)  # export = the base architecture only
    model.save_pretrained(tmp_path / "export")
    from transformers import AutoModelForCausalLM

    reloaded = AutoModelForCausalLM.from_pretrained(tmp_path / "export")
    x = torch.tensor([[1, 5, 6, 7]])
    assert torch.equal(reloaded(input_ids=x).logits, model(input_ids=x).logits)


def test_heads_are_seeded_by_the_method_and_checked():
    a, b = model_for(), model_for()
    MultiToken(d_max=2, seed=7).prepare(a, None)
    MultiToken(d_max=2, seed=7).prepare(b, None)
    for p, q in zip(getattr(a, HEADS_ATTR).parameters(), getattr(b, HEADS_ATTR).parameters()):
        assert torch.equal(p, q)
    with pytest.raises(ValueError, match="d_max >= 2"):
        MultiToken(d_max=1)
    with pytest.raises(ValueError, match="unknown trunk"):
        MultiToken(trunk="middle")
    with pytest.raises(ValueError, match="model.model.layers"):
        MultiToken(d_max=2).prepare(model_for("gpt2"), None)


def test_prepare_leaves_the_global_rng_alone():
    model = model_for()
    torch.manual_seed(123)
    state = torch.get_rng_state()
    MultiToken(d_max=3).prepare(model, None)
    assert torch.equal(torch.get_rng_state(), state)


@pytest.mark.parametrize("method", ["multi_token", "ds_multi_token"])
def test_train_end_to_end(tmp_path, method):
    from mutorbench.results import load_result
    from mutorbench.train.loop import train
    from tests.runs import log_of, tiny_run

    path = train(tiny_run(tmp_path, method, "method.d_max=3", "method.a=0.5"), progress=False)
    r = load_result(path)
    assert r.method.id == method and r.method.hyperparameters["added_params"] > 0
    first = log_of(path)[0]
    expected = 0.5 * first["loss_regular"] + 0.25 * (first["loss_head1"] + first["loss_head2"])
    assert first["loss"] == pytest.approx(expected, rel=1e-6)


def test_ds_module_k_reads_the_embedding_of_the_token_k_ahead():
    model = model_for("llama")
    method = DSMultiToken(d_max=3, seed=4)
    method.prepare(model, None)
    b = method.build_batch([Example([1, 10, 11], [20, 21, 22, 2], 0)], pad_id=PAD)
    seen = {}
    for k, m in enumerate(getattr(model, HEADS_ATTR), start=1):
        m.norm_embed.register_forward_hook(lambda mod, args, out, k=k: seen.setdefault(k, args[0]))
    method.head_logits(model, b)
    table = model.model.embed_tokens.weight
    ids = b.input_ids[0]
    for k in (1, 2):
        assert torch.equal(seen[k][0, : len(ids) - k], table[ids[k:]])  # slot t holds token t+k
