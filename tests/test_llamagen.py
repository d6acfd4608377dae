"""LlamaGen-B as the paper's image model: LlamaGen's names and shapes (checkpoints load strictly),
2-D RoPE with a zero class entry, a zero output head, and 4-D masks and position ids that let
MuToR interleave registers without changing a regular token's logits."""

import argparse
import math

import pytest
import torch

from mutorbench.masks import additive_mask
from mutorbench.models.adapters import adapter_for, build_from_config
from mutorbench.models.llamagen import (
    LlamaGen,
    LlamaGenConfig,
    apply_rope,
    load_llamagen_checkpoint,
    rope_2d,
)
from mutorbench.params import count_params, load_architecture
from mutorbench.train.config import load_config

SMALL = dict(dim=64, n_layer=2, n_head=4, vocab_size=50, num_classes=10, grid=4)


def small(seed=0, **kw) -> LlamaGen:
    torch.manual_seed(seed)
    model = LlamaGen(LlamaGenConfig(**(SMALL | kw))).eval()
    with torch.no_grad():
        model.output.weight.normal_(std=0.02)  # LlamaGen starts at zero: make logits differ
    return model


def llamagen_b_names() -> dict[str, tuple[int, ...]]:
    """LlamaGen's GPT-B state dict, names and shapes (autoregressive/models/gpt.py)."""
    d, ffn = 768, 2048
    names = {"cls_embedding.embedding_table.weight": (1001, d),
             "tok_embeddings.weight": (16384, d), "norm.weight": (d,),
             "output.weight": (16384, d)}
    for i in range(12):
        names |= {f"layers.{i}.attention.wqkv.weight": (3 * d, d),
                  f"layers.{i}.attention.wo.weight": (d, d),
                  f"layers.{i}.feed_forward.w1.weight": (ffn, d),
                  f"layers.{i}.feed_forward.w3.weight": (ffn, d),
                  f"layers.{i}.feed_forward.w2.weight": (d, ffn),
                  f"layers.{i}.attention_norm.weight": (d,),
                  f"layers.{i}.ffn_norm.weight": (d,)}
    return names


def test_llamagen_b_has_llamagens_names_shapes_and_111m_parameters():
    with torch.device("meta"):
        model = LlamaGen(LlamaGenConfig())
    assert {k: tuple(v.shape) for k, v in model.state_dict().items()} == llamagen_b_names()
    counted = count_params("llamagen-b", load_config(None, ["method.id=ntp"]).method)
    assert counted["base_params"] == 110_888_448  # the paper: 111M
    assert load_architecture("llamagen-b").intermediate_size == 2048


def test_a_llamagen_checkpoint_loads_strictly_and_a_foreign_one_is_one_line(tmp_path):
    state = {k: torch.randn(shape) * 0.02 for k, shape in llamagen_b_names().items()}
    path = tmp_path / "c2i_B_256.pt"
    # as LlamaGen's train_c2i.py saves a compiled model: prefixed names, its args beside them
    torch.save({"model": {f"_orig_mod.{k}": v for k, v in state.items()}, "steps": 7,
                "args": argparse.Namespace(gpt_model="GPT-B")}, path)
    model = load_llamagen_checkpoint(path)
    assert torch.equal(model.output.weight, state["output.weight"])
    del state["norm.weight"]
    torch.save(state, path)  # a bare state dict, one key short
    with pytest.raises(ValueError, match=r"not a LlamaGen-B checkpoint .*norm\.weight"):
        load_llamagen_checkpoint(path)


def test_rope_rotates_rows_then_columns_and_zeroes_the_class_token():
    table = rope_2d(grid=4, head_dim=8)  # 4 pairs: 2 by row, 2 by column; freqs 1 and 0.01
    assert table.shape == (17, 4, 2) and torch.equal(table[0], torch.zeros(4, 2))
    r, c = 2, 3
    angles = torch.tensor([r * 1.0, r * 0.01, c * 1.0, c * 0.01])
    assert torch.allclose(table[1 + r * 4 + c], torch.stack([angles.cos(), angles.sin()], -1))
    x = torch.randn(1, 2, 1, 8)
    out = apply_rope(x, torch.stack([table[0], table[1 + r * 4 + c]])[None])
    assert torch.equal(out[0, 0], torch.zeros(1, 8))  # the class token's q and k are zero
    pair = x[0, 1, 0].reshape(4, 2)
    expect = torch.stack([pair[:, 0] * angles.cos() - pair[:, 1] * angles.sin(),
                          pair[:, 1] * angles.cos() + pair[:, 0] * angles.sin()], -1)
    assert torch.allclose(out[0, 1, 0], expect.flatten(), atol=1e-6)


def test_the_output_head_starts_at_zero_and_the_tables_as_llamagen():
    model = LlamaGen(LlamaGenConfig(**SMALL))
    assert torch.count_nonzero(model.output.weight) == 0
    assert model.tok_embeddings.weight.std().item() == pytest.approx(0.02, rel=0.2)
    ids = torch.tensor([[model.config.class_token_offset + 3, 5, 7]])
    assert torch.count_nonzero(model.eval()(ids).logits) == 0


def test_class_ids_use_the_class_table_and_the_null_class_is_its_last_row():
    model = small()
    c = model.config
    ids = torch.tensor([[c.class_token_offset + c.num_classes, 4]])
    emb = model.embed(ids)
    assert torch.equal(emb[0, 0], model.cls_embedding.embedding_table.weight[c.num_classes])
    assert torch.equal(emb[0, 1], model.tok_embeddings.weight[4])


def test_interleaved_registers_leave_regular_logits_unchanged():
    """[c, z0, r, z1, r, z2, ...]: no regular token sees a register; each register sits at the
    position of the input whose output predicts its target."""
    model = small()
    c = model.config
    codes = torch.randint(0, c.vocab_size, (2, 8))
    plain = torch.cat([torch.full((2, 1), c.class_token_offset + 1), codes], dim=1)  # L = 9
    with torch.no_grad():
        ref = model(plain).logits
    regular = list(range(9))
    slots, positions, is_register = [], [], []
    for k in range(9):
        slots.append(plain[:, k]), positions.append(k), is_register.append(False)
        if 1 <= k < 7:  # a register after z_{k-1}, predicting 2 ahead: position of its target-1
            slots.append(torch.full((2,), 3)), positions.append(k + 1), is_register.append(True)
    ids, reg = torch.stack(slots, 1), torch.tensor(is_register)
    n = ids.shape[1]
    causal = torch.ones(n, n, dtype=torch.bool).tril()
    allowed = causal & ~reg[None, :] | torch.eye(n, dtype=torch.bool)  # registers seen by no one
    allowed = allowed[None].expand(2, n, n)
    with torch.no_grad():
        out = model(ids, position_ids=torch.tensor(positions).expand(2, n),
                    attention_mask=additive_mask(allowed)).logits
    assert torch.allclose(out[:, ~reg], ref[:, regular], atol=1e-5)
    mask = additive_mask(torch.ones(9, 9, dtype=torch.bool).tril()[None].expand(2, 9, 9))
    with torch.no_grad():
        assert torch.allclose(model(plain, attention_mask=mask).logits, ref, atol=1e-6)


def test_the_adapter_knows_where_llamagens_parts_are():
    model = build_from_config(LlamaGenConfig(**SMALL))
    adapter = adapter_for(model)
    assert adapter.layers_of(model) is model.layers and adapter.head_of(model) is model.output
    assert adapter.norm_of(model) is model.norm
    assert adapter.embeddings_of(model) is model.tok_embeddings
    assert adapter.max_positions(model) == 1 + 16 == math.prod((4, 4)) + 1
    with pytest.raises(ValueError, match="position id 17 is past the 4x4 grid"):
        model(torch.tensor([[3, 4]]), position_ids=torch.tensor([[0, 17]]))


def test_mutor_2d_registers_get_their_own_table_and_leave_regular_logits_unchanged():
    """Registers on LlamaGen: ids after the null class, rows in a table of their own (LlamaGen's
    tables and head keep their shapes), seeded; the MuToR-2D layout's regular tokens see the same
    logits as the plain sequence."""
    from mutorbench.methods.mutor_2d import MuToR2D
    from mutorbench.models.code_vocabulary import CodeVocabulary

    model, vocab = small(), CodeVocabulary(50, 10)
    names = set(model.state_dict())
    method = MuToR2D(d_max_2d=2, grid_width=4, seed=3)
    state = method.prepare(model, vocab)
    assert state.token_ids == [61] == vocab.convert_tokens_to_ids(method.register_names())
    assert set(model.state_dict()) - names == {"added_embeddings.weight"}
    assert model.output.weight.shape[0] == 50 and method.added_param_count(model) == 64
    again = small()
    MuToR2D(d_max_2d=2, grid_width=4, seed=3).prepare(again, CodeVocabulary(50, 10))
    assert torch.equal(again.added_embeddings.weight, model.added_embeddings.weight)
    assert torch.equal(model.embed(torch.tensor([[61]]))[0, 0], model.added_embeddings.weight[0])
    gen = torch.Generator().manual_seed(0)
    from mutorbench.examples import Example

    examples = [Example((50 + c,), tuple(torch.randint(0, 50, (16,), generator=gen).tolist()), k)
                for k, c in enumerate([1, 7])]
    batch = method.build_batch(examples, pad_id=0, epoch=0)
    with torch.no_grad():
        out = model(**batch.model_kwargs(torch.float32)).logits
        plain = model(torch.tensor([e.prompt_ids + e.answer_ids for e in examples])).logits
    regular = ~batch.is_register
    assert int(batch.is_register.sum()) > 0
    for b in range(2):
        assert torch.allclose(out[b][regular[b]][:17], plain[b], atol=1e-5)
