"""Classifier-free guidance sampling of LlamaGen: the KV cache decodes as the full forward, the
guided draw equals a naive re-computation at every step (prefill included), a sample does not
depend on its batch, and only codes can be drawn."""

import pytest
import torch

from mutorbench.evaluation.image_sampling import (
    _draw,
    _generators,
    balanced_labels,
    filter_logits,
    random_labels,
    sample_codes,
)
from mutorbench.models.llamagen import LlamaGen, LlamaGenConfig

SMALL = dict(dim=64, n_layer=2, n_head=4, vocab_size=40, num_classes=5, grid=3)


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    m = LlamaGen(LlamaGenConfig(**SMALL)).eval()
    with torch.no_grad():
        m.output.weight.normal_(std=0.5)  # a peaked, class-dependent distribution
        m.cls_embedding.embedding_table.weight.normal_(std=1.0)
    return m


def test_the_kv_cache_decodes_as_the_full_forward(model):
    ids = torch.cat([torch.tensor([[40 + 2], [40 + 5]]), torch.randint(0, 40, (2, 6))], dim=1)
    full = model(ids).logits
    out = model(ids[:, :3])
    steps, past = [out.logits], out.past
    for k in range(3, 7):
        out = model(ids[:, k:k + 1], past=past)
        steps.append(out.logits)
        past = out.past
    assert torch.allclose(torch.cat(steps, dim=1), full, atol=1e-5)


def naive(model, labels, cfg_scale, seed, **kw):
    """Every step recomputed from scratch, conditional and null class side by side."""
    c = model.config
    gens = _generators(seed, range(len(labels)))
    codes = torch.zeros(len(labels), 0, dtype=torch.long)
    for _ in range(c.grid * c.grid):
        cond = torch.cat([torch.tensor(labels)[:, None] + c.class_token_offset, codes], dim=1)
        logits = model(cond).logits[:, -1]
        if cfg_scale > 1:
            null = cond.clone()
            null[:, 0] = c.class_token_offset + c.num_classes
            uncond = model(null).logits[:, -1]
            logits = uncond + cfg_scale * (logits - uncond)
        nxt = _draw(logits, gens, temperature=kw.get("temperature", 1.0), top_k=kw.get("top_k", 0),
                    top_p=kw.get("top_p", 1.0))
        codes = torch.cat([codes, nxt[:, None]], dim=1)
    return codes


@pytest.mark.parametrize("cfg_scale,kw", [(1.0, {}), (2.0, {}), (4.0, {"temperature": 0.7}),
                                          (2.0, {"top_k": 5}), (2.0, {"top_p": 0.8})])
def test_guidance_applies_at_the_prefill_and_every_step(model, cfg_scale, kw):
    labels = [0, 3, 4, 1]
    got = sample_codes(model, labels, cfg_scale=cfg_scale, seed=7, **kw)
    assert got.shape == (4, 9) and int(got.max()) < model.config.vocab_size
    assert torch.equal(got, naive(model, labels, cfg_scale, seed=7, **kw))


def test_a_sample_does_not_depend_on_its_batch_and_guidance_changes_samples(model):
    labels = [2, 2, 0, 4, 1]
    together = sample_codes(model, labels, seed=3, batch_size=5)
    alone = torch.cat([sample_codes(model, [y], seed=3, first_index=k, batch_size=1)
                       for k, y in enumerate(labels)])
    assert torch.equal(together, alone)
    assert not torch.equal(together, sample_codes(model, labels, seed=4))
    assert not torch.equal(sample_codes(model, labels, seed=3, cfg_scale=1.0), together)


def test_top_k_one_is_the_guided_argmax_and_bad_scales_are_refused(model):
    greedy = sample_codes(model, [1], cfg_scale=3.0, top_k=1, seed=0)
    c = model.config
    cond = torch.tensor([[c.class_token_offset + 1]])
    null = torch.tensor([[c.class_token_offset + c.num_classes]])
    first = model(null).logits[0, -1] + 3.0 * (model(cond).logits[0, -1]
                                               - model(null).logits[0, -1])
    assert int(greedy[0, 0]) == int(first.argmax())
    with pytest.raises(ValueError, match="cfg_scale must be >= 1"):
        sample_codes(model, [1], cfg_scale=0.5)
    # probabilities 0.09, 0.64, 0.24, 0.03: 0.64 < 0.7, so the nucleus takes the second as well
    kept = filter_logits(torch.tensor([[1.0, 3.0, 2.0, 0.0]]), top_p=0.7)
    assert torch.isinf(kept).tolist() == [[True, False, False, True]]


def test_labels_balanced_or_seeded_random():
    assert balanced_labels(10, 5) == [0, 1, 2, 3, 4] * 2
    assert random_labels(6, 1000, seed=1) == random_labels(6, 1000, seed=1)
    assert random_labels(6, 1000, seed=1) != random_labels(6, 1000, seed=2)
