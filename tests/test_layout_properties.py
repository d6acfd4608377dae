"""Builders vs the brute-force reference of the paper's rules, on random and edge-case batches."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mutorbench.methods.mutor import build_mutor_inputs
from mutorbench.methods.ntp import build_ntp_inputs
from tests.helpers import PAD
from tests.reference import reference_layout

REGISTERS = [90, 91, 92, 93, 94, 95, 89, 88]  # per-offset: REGISTERS[d - 1]

token = st.integers(min_value=3, max_value=80)
example = st.tuples(
    st.lists(token, min_size=1, max_size=8),
    st.lists(token, min_size=1, max_size=8),
    st.integers(min_value=1, max_value=8),
)


def check_against_reference(batch, prompts, answers, offsets, register_for_d, mode):
    vis_all = batch.attention_mask[:, 0] == 0
    for b, (p, a) in enumerate(zip(prompts, answers)):
        d = None if offsets is None else offsets[b]
        ids, pos, labels, is_reg, vis = reference_layout(
            p, a, d=d, register_for_d=register_for_d, prefix_attention=mode
        )
        n = len(ids)
        assert int(batch.lengths[b]) == n
        assert batch.input_ids[b, :n].tolist() == ids
        assert batch.position_ids[b, :n].tolist() == pos
        assert batch.labels[b, :n].tolist() == labels
        assert batch.is_register[b, :n].tolist() == is_reg
        assert vis_all[b, :n, :n].int().tolist() == vis
        # padding: ignored, invisible to real queries, sees only itself
        width = batch.input_ids.shape[1]
        assert (batch.input_ids[b, n:] == PAD).all()
        assert (batch.labels[b, n:] == -100).all()
        assert not batch.is_register[b, n:].any()
        assert not vis_all[b, :n, n:].any()
        assert torch.equal(vis_all[b, n:, :], torch.eye(width, dtype=torch.bool)[n:])


@settings(max_examples=150, deadline=None)
@given(
    batch=st.lists(example, min_size=1, max_size=8),
    mode=st.sampled_from(["bidirectional", "causal"]),
    per_offset=st.booleans(),
)
def test_mutor_matches_reference(batch, mode, per_offset):
    prompts = [p for p, _, _ in batch]
    answers = [a for _, a, _ in batch]
    offsets = [d for _, _, d in batch]
    register_id = REGISTERS if per_offset else 90
    out = build_mutor_inputs(prompts, answers, offsets=offsets, register_id=register_id,
                             pad_id=PAD, prefix_attention=mode)
    register_for_d = (lambda d: REGISTERS[d - 1]) if per_offset else (lambda d: 90)
    check_against_reference(out, prompts, answers, offsets, register_for_d, mode)


@settings(max_examples=80, deadline=None)
@given(batch=st.lists(example, min_size=1, max_size=8),
       mode=st.sampled_from(["bidirectional", "causal"]))
def test_ntp_matches_reference(batch, mode):
    prompts = [p for p, _, _ in batch]
    answers = [a for _, a, _ in batch]
    out = build_ntp_inputs(prompts, answers, pad_id=PAD, prefix_attention=mode)
    assert not out.is_register.any()
    check_against_reference(out, prompts, answers, None, None, mode)


@pytest.mark.parametrize("mode", ["bidirectional", "causal"])
@pytest.mark.parametrize(
    "prompt,answer,d,n_registers",
    [
        ([5], [6], 1, 1),  # answer length 1, d = 1: one register predicting a_1
        ([5], [6], 2, 0),  # d > answer length: no register has a target
        ([5, 6, 7], [8, 9, 10], 3, 1),  # d = A: only the first register (target = last token)
        ([5, 6], [8, 9, 10, 11], 9, 0),  # d far beyond the answer
        ([5, 6], [8, 9, 10, 11], 1, 4),  # d = 1: one register per answer token
    ],
)
def test_edge_cases(prompt, answer, d, n_registers, mode):
    out = build_mutor_inputs([prompt], [answer], offsets=[d], register_id=90, pad_id=PAD,
                             prefix_attention=mode)
    assert int(out.is_register.sum()) == n_registers
    check_against_reference(out, [prompt], [answer], [d], lambda _: 90, mode)
    if n_registers == 0:  # without registers MuToR's layout is exactly the next-token layout
        ntp = build_ntp_inputs([prompt], [answer], pad_id=PAD, prefix_attention=mode)
        for name in ("input_ids", "position_ids", "labels", "attention_mask"):
            assert torch.equal(getattr(out, name), getattr(ntp, name))


def test_batch_of_eight_equals_rows_built_alone():
    import random

    from tests.helpers import random_batch

    prompts, answers, offsets = random_batch(random.Random(3), 8)
    batch = build_mutor_inputs(prompts, answers, offsets=offsets, register_id=90, pad_id=PAD)
    for b in range(8):
        one = build_mutor_inputs([prompts[b]], [answers[b]], offsets=[offsets[b]],
                                 register_id=90, pad_id=PAD)
        n = int(one.lengths[0])
        for name in ("input_ids", "position_ids", "labels", "is_register"):
            assert torch.equal(getattr(batch, name)[b, :n], getattr(one, name)[0])
        assert torch.equal(batch.attention_mask[b, :, :n, :n], one.attention_mask[0])
