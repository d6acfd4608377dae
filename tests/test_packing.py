"""Packed batches: every method's losses, counts and gradients equal the unpacked batch's (both
reductions), the data order and offsets do not move, and bad packing options are one line."""

import copy
import json
from functools import lru_cache

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mutorbench.examples import Example
from mutorbench.methods.losses import combine
from mutorbench.methods.packing import first_fit, pack, padding_fraction
from mutorbench.models.tiny import build_model, tiny_config
from mutorbench.models.tokenizer import train_bpe_tokenizer
from mutorbench.registry import METHODS
from mutorbench.results import load_result
from mutorbench.train.config import load_config
from mutorbench.train.loop import train
from tests.runs import tiny_run

TOKENIZER = train_bpe_tokenizer([f"{i} apples and {i + 3} pens" for i in range(100)], 300)
OPTIONS = {"mutor": {"d_max": 3}, "multi_token": {"d_max": 3}, "ds_multi_token": {"d_max": 3},
           "mutor_2d": {"d_max_2d": 2, "grid_width": 3, "register_count": 2}}  # sparse too
ARMS = [(m, r) for m, cls in METHODS.items() if cls.supports_packing
        for r in ("per_example", "token")]


@lru_cache(maxsize=None)
def prepared(method_id: str, reduction: str):
    tok = copy.deepcopy(TOKENIZER)
    model = build_model(tiny_config("llama", len(tok), hidden_size=32, num_heads=2,
                                    pad_token_id=tok.pad_token_id), seed=0)
    cls = METHODS.get(method_id)
    method = cls.from_config(cls.Config(id=method_id, reduction=reduction,
                                        **OPTIONS.get(method_id, {})), seed=1)
    method.prepare(model, tok)
    return model, method, tok.pad_token_id


examples_st = st.lists(st.tuples(st.integers(1, 9), st.integers(1, 8), st.integers(0, 10**6)),
                       min_size=1, max_size=7)


def make_examples(spec) -> list[Example]:
    out = []
    for i, (p, a, salt) in enumerate(spec):
        ids = [(salt * 7 + 13 * k) % 240 + 5 for k in range(p + a)]
        out.append(Example(tuple(ids[:p]), tuple(ids[p:]) + (TOKENIZER.eos_token_id,), i))
    return out


@pytest.mark.parametrize("method_id,reduction", ARMS)
@settings(max_examples=12, deadline=None)
@given(spec=examples_st, widen=st.integers(1, 3))
def test_packed_losses_equal_the_unpacked_batch(method_id, reduction, spec, widen):
    model, method, pad = prepared(method_id, reduction)
    batch = method.build_batch(make_examples(spec), pad_id=pad, epoch=2)
    packed = pack(batch, pad_id=pad, width=widen * int(batch.lengths.max()))
    assert int(packed.lengths.max()) <= widen * int(batch.lengths.max())
    assert packed.input_ids.shape[0] <= batch.input_ids.shape[0]
    assert method.loss_counts(packed) == method.loss_counts(batch)
    weights = method.loss_weights()
    ours, theirs = method.loss_terms(model, batch), method.loss_terms(model, packed)
    for name in ours:
        assert float(theirs[name].value) == pytest.approx(float(ours[name].value), abs=1e-5)
    assert packed.num_regular_tokens == batch.num_regular_tokens
    assert packed.num_register_tokens == batch.num_register_tokens
    assert float(combine(theirs, weights)) == pytest.approx(float(combine(ours, weights)), abs=1e-5)


def test_packed_gradients_equal_the_unpacked_batch():
    model, method, pad = prepared("mutor", "per_example")
    batch = method.build_batch(make_examples([(3, 5, 1), (8, 2, 2), (2, 7, 3), (5, 5, 4)]),
                               pad_id=pad)
    grads = []
    for b in (batch, pack(batch, pad_id=pad, width=60)):
        model.zero_grad()
        combine(method.loss_terms(model, b), method.loss_weights()).backward()
        grads.append(torch.cat([p.grad.flatten() for p in model.parameters()]))
    assert torch.allclose(grads[0], grads[1], atol=1e-6)


def test_a_slot_sees_only_its_own_example_and_positions_restart():
    _, method, pad = prepared("mutor", "token")
    batch = method.build_batch(make_examples([(2, 2, 1), (3, 1, 2), (2, 3, 3)]), pad_id=pad)
    packed = pack(batch, pad_id=pad, width=40)
    assert packed.input_ids.shape[0] == 1 and packed.segment_ids[0].tolist().count(-1) == 0
    seg, visible = packed.segment_ids[0], packed.attention_mask[0, 0] == 0
    assert bool((visible & (seg[:, None] != seg[None, :])).sum() == 0)
    starts = [k for k in range(len(seg)) if k == 0 or seg[k] != seg[k - 1]]
    assert [int(packed.position_ids[0, k]) for k in starts] == [0, 0, 0]
    for e in range(3):  # within its segment, an example keeps its own mask exactly
        n = int(batch.lengths[e])
        mine = (seg == e).nonzero().flatten()
        assert torch.equal(visible[mine][:, mine], batch.attention_mask[e, 0, :n, :n] == 0)


def test_first_fit_keeps_the_batch_order_and_the_width():
    assert first_fit([5, 3, 4, 2, 6], 8) == [[0, 1], [2, 3], [4]]
    with pytest.raises(ValueError, match="an example of 9 slots does not fit batch.pack_width=8"):
        first_fit([9], 8)
    model, method, pad = prepared("ntp", "token")
    batch = method.build_batch(make_examples([(4, 4, 1), (1, 1, 2), (1, 1, 3)]), pad_id=pad)
    assert padding_fraction(pack(batch, pad_id=pad)) < padding_fraction(batch)


def test_a_packed_run_trains_like_the_unpacked_one(tmp_path):
    sets = ["budget.kind=steps", "budget.amount=6"]
    plain = train(tiny_run(tmp_path / "plain", "mutor", *sets), progress=False)
    packed = train(tiny_run(tmp_path / "packed", "mutor", *sets, "batch.packing=true",
                            "batch.pack_width=256"), progress=False)
    logs = [[json.loads(x) for x in (p.parent / "log.jsonl").read_text().splitlines()]
            for p in (plain, packed)]
    for key in ("loss", "loss_regular", "loss_register"):
        assert [r[key] for r in logs[1]] == pytest.approx([r[key] for r in logs[0]], abs=1e-5)
    assert [r["regular_tokens"] for r in logs[1]] == [r["regular_tokens"] for r in logs[0]]
    a, b = load_result(plain), load_result(packed)
    assert a.data.order_hash == b.data.order_hash and a.init_weights_hash == b.init_weights_hash


def test_a_row_narrower_than_the_longest_example_is_refused_before_training(tmp_path):
    with pytest.raises(ValueError, match="batch.pack_width=96 is narrower than the longest "
                                         r"example's layout \(\d+ slots with mutor\)"):
        train(tiny_run(tmp_path / "runs", "mutor", "batch.packing=true", "batch.pack_width=96"),
              progress=False)
    assert not (tmp_path / "runs").exists()


def test_packing_options_are_checked_up_front(monkeypatch):
    with pytest.raises(ValueError, match="pack_width applies with packing: true only"):
        load_config(None, ["batch.pack_width=64"])
    monkeypatch.setattr(METHODS.get("teacherless"), "supports_packing", False)
    with pytest.raises(ValueError, match="config error at batch.packing: method 'teacherless' "
                                         "does not read packed rows"):
        load_config(None, ["method.id=teacherless", "batch.packing=true"])
