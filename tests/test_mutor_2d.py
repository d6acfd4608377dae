"""MuToR-2D and sparse registers: the paper's 2-D neighbourhood (Figure 3), rasterised offsets
drawn per (seed, epoch, example), a sparse layout that is the dense one when every position is an
anchor and obeys the mask rules slot by slot otherwise, and a = 0 giving next-token's loss."""

import copy
import random

import pytest
import torch

from mutorbench.examples import Example
from mutorbench.integrations.hf import make_method
from mutorbench.masks import NEVER_VISIBLE
from mutorbench.methods.layout import IGNORE_INDEX, build_layout, build_sparse_layout
from mutorbench.methods.losses import combine
from mutorbench.methods.mutor import sample_anchors
from mutorbench.methods.mutor_2d import offsets_2d, sample_offsets_2d
from mutorbench.models.tiny import build_model, tiny_config
from mutorbench.models.tokenizer import train_bpe_tokenizer
from mutorbench.results import load_result
from mutorbench.train.config import load_config
from mutorbench.train.loop import train
from tests.runs import tiny_run

TABLE = torch.tensor([90, 91, 92, 93, 94, 95])


def test_figure_3_the_register_after_x7_with_d_max_2d_3():
    """On a grid 4 wide: the register after x_7 predicts right 1-2, and the 3 x 3 block below."""
    targets = sorted(7 + d for _, _, d in offsets_2d(3, 4))
    assert targets == [8, 9, 11, 12, 13, 15, 16, 17] and len(targets) == 3 * 3 - 1
    assert len(offsets_2d(4, 16)) == 15  # the paper's d_max_2d = 4: 15 targets


def test_2d_offsets_are_uniform_and_a_function_of_seed_epoch_and_index():
    draws = sample_offsets_2d(0, 0, range(15000), 4, 16)
    assert set(draws) == {d for _, _, d in offsets_2d(4, 16)}
    counts = [draws.count(d) for d in set(draws)]
    assert max(counts) - min(counts) < 150  # 1000 each expected
    assert sample_offsets_2d(0, 0, [7, 3], 4, 16) == [draws[7], draws[3]]
    assert sample_offsets_2d(0, 1, range(50), 4, 16) != draws[:50]
    with pytest.raises(ValueError, match="d_max_2d 5 is wider than a grid row"):
        load_config(None, ["method.id=mutor_2d", "method.d_max_2d=5", "method.grid_width=4"])


def random_batch(rng):
    B = rng.randint(1, 4)
    prompts = [[rng.randrange(5, 50) for _ in range(rng.randint(1, 5))] for _ in range(B)]
    answers = [[rng.randrange(5, 50) for _ in range(rng.randint(1, 8))] for _ in range(B)]
    return prompts, answers, [rng.randint(1, 4) for _ in range(B)]


@pytest.mark.parametrize("mode", ["bidirectional", "causal"])
def test_sparse_with_every_anchor_is_the_dense_layout(mode):
    rng = random.Random(1)
    for _ in range(200):
        prompts, answers, d = random_batch(rng)
        dense = build_layout(prompts, answers, pad_id=0, prefix_attention=mode,
                             dtype=torch.float32, offsets=torch.tensor(d), register_table=TABLE)
        every = [list(range(max(0, len(a) - k + 1))) for a, k in zip(answers, d)]
        sparse = build_sparse_layout(prompts, answers, offsets=d, anchors=every,
                                     register_table=TABLE, pad_id=0, prefix_attention=mode,
                                     dtype=torch.float32)
        for name in ("input_ids", "position_ids", "attention_mask", "labels", "is_register",
                     "lengths"):
            assert torch.equal(getattr(dense, name), getattr(sparse, name)), name


def naive_slots(prompt, answer, d, anchors):
    """The paper's rules written out slot by slot (causal prefix), independently of the builder:
    (input, label, position, register-free index of a regular slot or None, is_register)."""
    x, P = [*prompt, *answer], len(prompt)
    out = [(x[i], x[P] if i == P - 1 else IGNORE_INDEX, i, i, False) for i in range(P)]
    for j, token in enumerate(answer):
        if j in anchors:  # after x[P + j - 1], predicting x[P + j - 1 + d]
            out.append((int(TABLE[d - 1]), x[P + j - 1 + d], P + j - 2 + d, None, True))
        nxt = x[P + j + 1] if j + 1 < len(answer) else IGNORE_INDEX
        out.append((token, nxt, P + j, P + j, False))
    return out


def test_sparse_layout_follows_the_rules_slot_by_slot_against_a_naive_reference():
    rng = random.Random(2)
    for _ in range(150):
        prompts, answers, d = random_batch(rng)
        anchors = [sorted(rng.sample(range(max(0, len(a) - k + 1)),
                                     rng.randint(0, max(0, len(a) - k + 1))))
                   for a, k in zip(answers, d)]
        got = build_sparse_layout(prompts, answers, offsets=d, anchors=anchors,
                                  register_table=TABLE, pad_id=0, prefix_attention="causal",
                                  dtype=torch.float32)
        for b, (p, a) in enumerate(zip(prompts, answers)):
            slots = naive_slots(p, a, d[b], set(anchors[b]))
            n = len(slots)
            assert int(got.lengths[b]) == n
            assert got.input_ids[b, :n].tolist() == [s[0] for s in slots]
            assert got.labels[b, :n].tolist() == [s[1] for s in slots]
            assert got.position_ids[b, :n].tolist() == [s[2] for s in slots]
            assert got.is_register[b, :n].tolist() == [s[4] for s in slots]
            seen = got.attention_mask[b, 0, :n, :n] == 0
            for q in range(n):
                # the last regular index a slot may see: its own (regular) or the one before it
                horizon = slots[q][3] if slots[q][3] is not None else slots[q - 1][3]
                for k in range(n):
                    free = slots[k][3]
                    expect = k == q or (free is not None and free <= horizon)
                    assert bool(seen[q, k]) == expect, (b, q, k)
            assert NEVER_VISIBLE > 0


def test_sparse_anchors_are_a_function_of_seed_epoch_and_index():
    assert sample_anchors(0, 0, 5, 10, 4) == sample_anchors(0, 0, 5, 10, 4)
    assert len(sample_anchors(0, 0, 5, 10, 4)) == 4 and sample_anchors(0, 0, 5, 3, 4) == [0, 1, 2]
    assert sample_anchors(0, 0, 5, 0, 4) == []
    assert len({tuple(sample_anchors(0, e, 5, 20, 4)) for e in range(6)}) > 1


TOKENIZER = train_bpe_tokenizer([f"{i} apples and {i + 3} pens" for i in range(100)], 300)


def test_a_zero_gives_next_tokens_loss_and_a_sparse_batch_has_its_register_count():
    """On one model (the register rows are in its vocabulary either way): MuToR-2D with a = 0
    is next-token training, with registers present in the batch."""
    examples = [Example(tuple(range(5, 5 + p)), tuple(range(40, 40 + a)) + (1,), i)
                for i, (p, a) in enumerate([(3, 9), (6, 7), (2, 12)])]
    tok = copy.deepcopy(TOKENIZER)
    model = build_model(tiny_config("llama", len(tok), hidden_size=32, num_heads=2,
                                    pad_token_id=tok.pad_token_id), seed=0)
    mutor = make_method("mutor_2d", seed=1, a=0.0, d_max_2d=2, grid_width=3, register_count=3)
    mutor.prepare(model, tok)
    ntp = make_method("ntp")
    losses = {}
    for name, method in (("mutor_2d", mutor), ("ntp", ntp)):
        batch = method.build_batch(examples, pad_id=tok.pad_token_id, epoch=0)
        losses[name] = float(combine(method.loss_terms(model, batch), method.loss_weights()))
        if name == "mutor_2d":
            assert batch.is_register.sum(dim=1).tolist() == [3, 3, 3]
    assert losses["mutor_2d"] == pytest.approx(losses["ntp"], abs=1e-6)


def test_mutor_2d_with_sparse_registers_trains_through_the_cli_loop(tmp_path):
    cfg = tiny_run(tmp_path, "ntp", "method.id=mutor_2d", "method.d_max_2d=2",
                   "method.grid_width=4", "method.register_count=4", "budget.kind=steps",
                   "budget.amount=4")
    result = load_result(train(cfg, progress=False))
    hp = result.method.hyperparameters
    assert hp["targets"] == 3 and hp["register_count"] == 4 and "row_wrap" in hp
    assert result.budget.register_tokens == 4 * 4 * cfg.batch.micro_batch_size
