"""Hand-written fixtures from the paper: the §2.6 mask grid and Figure 1's positions/targets."""

import torch

from mutorbench.methods.mutor import build_mutor_inputs
from mutorbench.methods.ntp import build_ntp_inputs

Q1, Q2, A1, A2, A3, R, PAD = 11, 12, 21, 22, 23, 99, 0


def visible(batch):
    return (batch.attention_mask[0, 0] == 0).int().tolist()


def test_paper_mask_grid_prompt_q1q2_answer_a1a2a3():
    # paper.md §2.6, d = 1: sequence q1 q2 | r a1 r a2 r a3
    b = build_mutor_inputs([[Q1, Q2]], [[A1, A2, A3]], offsets=[1], register_id=R, pad_id=PAD)
    assert b.input_ids.tolist() == [[Q1, Q2, R, A1, R, A2, R, A3]]
    assert visible(b) == [
        # q1 q2 r  a1 r  a2 r  a3
        [1, 1, 0, 0, 0, 0, 0, 0],  # q1
        [1, 1, 0, 0, 0, 0, 0, 0],  # q2
        [1, 1, 1, 0, 0, 0, 0, 0],  # r
        [1, 1, 0, 1, 0, 0, 0, 0],  # a1
        [1, 1, 0, 1, 1, 0, 0, 0],  # r
        [1, 1, 0, 1, 0, 1, 0, 0],  # a2
        [1, 1, 0, 1, 0, 1, 1, 0],  # r
        [1, 1, 0, 1, 0, 1, 0, 1],  # a3
    ]
    # d = 1: each register predicts the answer token right after it, from position t + d - 1 = t.
    assert b.position_ids.tolist() == [[0, 1, 1, 2, 2, 3, 3, 4]]
    assert b.labels.tolist() == [[-100, A1, A1, A2, A2, A3, A3, -100]]
    assert b.is_register.tolist() == [[False, False, True, False, True, False, True, False]]


def test_paper_figure1_positions_and_targets():
    # Figure 1 (1-based): inputs x1 r x2 r x3 r, positions 1, (1+d)-1, 2, (2+d)-1, 3, (3+d)-1,
    # targets x2, x_{1+d}, x3, x_{2+d}, x4, x_{3+d}. Here a one-token prompt x1, answer x2..x6, d = 2.
    x = [101, 102, 103, 104, 105, 106]
    d = 2
    b = build_mutor_inputs([x[:1]], [x[1:]], offsets=[d], register_id=R, pad_id=PAD)
    one_based = [p + 1 for p in b.position_ids[0].tolist()]
    assert b.input_ids[0, :6].tolist() == [x[0], R, x[1], R, x[2], R]
    assert one_based[:6] == [1, (1 + d) - 1, 2, (2 + d) - 1, 3, (3 + d) - 1]
    xs = {i + 1: tok for i, tok in enumerate(x)}  # 1-based access: xs[k] = x_k
    assert b.labels[0, :6].tolist() == [xs[2], xs[1 + d], xs[3], xs[2 + d], xs[4], xs[3 + d]]
    # 5 answer tokens, d = 2: the register after x5 would target x7 (outside): it is dropped.
    assert b.input_ids[0].tolist() == [101, R, 102, R, 103, R, 104, R, 105, 106]
    assert int(b.is_register.sum()) == 4


def test_ntp_bidirectional_and_causal_prefix():
    b = build_ntp_inputs([[Q1, Q2]], [[A1, A2]], pad_id=PAD)
    assert visible(b) == [[1, 1, 0, 0], [1, 1, 0, 0], [1, 1, 1, 0], [1, 1, 1, 1]]
    assert b.labels.tolist() == [[-100, A1, A2, -100]]
    assert b.position_ids.tolist() == [[0, 1, 2, 3]]
    c = build_ntp_inputs([[Q1, Q2]], [[A1, A2]], pad_id=PAD, prefix_attention="causal")
    assert visible(c) == [[1, 0, 0, 0], [1, 1, 0, 0], [1, 1, 1, 0], [1, 1, 1, 1]]


def test_mask_values_are_zero_or_dtype_min():
    for dtype in (torch.float32, torch.bfloat16, torch.float16):
        b = build_ntp_inputs([[Q1]], [[A1, A2]], pad_id=PAD, dtype=dtype)
        assert b.attention_mask.dtype == dtype
        assert b.attention_mask.shape == (1, 1, 3, 3)
        values = set(b.attention_mask.unique().tolist())
        assert values == {0.0, torch.finfo(dtype).min}


def test_padding_rows_are_isolated_and_pad_may_equal_eos():
    eos = 2  # pad id equal to EOS: padding must come from the lengths, not from the ids
    b = build_mutor_inputs([[1, 5], [1]], [[7, eos], [8, 9, 10, eos]], offsets=[1, 3],
                           register_id=R, pad_id=eos)
    assert b.lengths.tolist() == [6, 7]
    vis = b.attention_mask[0, 0] == 0
    assert vis[6:, :].sum(dim=1).tolist() == [1]  # the pad query sees only itself
    assert not vis[:6, 6:].any()  # real queries never see the pad key
    assert b.labels[0, 6:].tolist() == [-100]
    # example 0 ends with EOS as a real target although EOS == pad id
    assert b.labels[0].tolist().count(eos) == 2
