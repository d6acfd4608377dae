"""The flex-attention path: a BlockMask built from the layout's rule (masks.py) gives what the
dense mask gives. On CPU PyTorch runs FlexAttention forward only, so these compare forwards
(losses, logits, greedy decoding); training with flex on a CPU is refused with one line."""

import copy
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.nn.attention.flex_attention import create_mask, flex_attention

from mutorbench import masks
from mutorbench.evaluation.generation import greedy_generate
from mutorbench.integrations.hf import make_method
from mutorbench.methods.packing import pack
from mutorbench.models.tiny import build_model, tiny_config
from mutorbench.models.tokenizer import train_bpe_tokenizer
from mutorbench.throughput import random_examples

TOKENIZER = train_bpe_tokenizer([f"{i} apples and {i + 1} pens" for i in range(200)], 300)
ROOT = Path(__file__).resolve().parents[1]


@st.composite
def rules(draw):
    """Per-slot rules as the layouts make them: regular slots with register-free indices and
    horizons, invisible slots (registers, pads), several examples per row."""
    B, L = draw(st.integers(1, 3)), draw(st.integers(1, 150))
    key, horizon, segment = [], [], []
    for _ in range(B):
        k = [draw(st.sampled_from([masks.NEVER_VISIBLE, *range(L)])) for _ in range(L)]
        key.append(k)
        horizon.append([draw(st.integers(-1, L)) for _ in range(L)])
        segment.append(sorted(draw(st.integers(-1, 3)) for _ in range(L)))
    return torch.tensor(key), torch.tensor(horizon), torch.tensor(segment)


@settings(max_examples=40, deadline=None)
@given(rules(), st.booleans(), st.booleans())
def test_block_mask_is_the_dense_rule(rule, packed, causal):
    key, horizon, segment = rule
    segment = segment if packed else None
    block = masks.block_mask(key, horizon, segment, causal=causal)
    B, L = key.shape
    dense = create_mask(block.mask_mod, B, 1, L, L, device="cpu")[:, 0]
    assert torch.equal(dense, masks.visibility(key, horizon, segment, causal=causal))
    # the kernel (eager on CPU) reads the block structure too: same output as sdpa's dense mask
    q, k, v = torch.randn(3, B, 2, L, 8, generator=torch.Generator().manual_seed(L)).unbind(0)
    ours = flex_attention(q, k, v, block_mask=block)
    ref = F.scaled_dot_product_attention(q, k, v, attn_mask=dense[:, None])
    assert torch.allclose(ours, ref, atol=1e-5)


def _twins(method_id: str, **options):
    """The same weights and method under sdpa and under flex attention."""
    out = {}
    for attn in ("sdpa", "flex_attention"):
        tok = copy.deepcopy(TOKENIZER)
        cfg = tiny_config("gemma", len(tok), hidden_size=32, num_layers=2, num_heads=2,
                          pad_token_id=tok.pad_token_id)
        model = build_model(cfg, seed=0, attn_implementation=attn).eval()
        method = make_method(method_id, seed=1, **options)
        method.prepare(model, tok)
        out[attn] = (model, method)
    return out


EXAMPLES = random_examples([(9, 21), (4, 33), (12, 7), (5, 5)], 300, eos_id=TOKENIZER.eos_token_id)


@pytest.mark.parametrize("method_id", ["mutor", "ds_multi_token"])
def test_flex_losses_equal_sdpa_padded_and_packed(method_id):
    """MuToR (registers: regular tokens blind to them) and DS-Multi-Token (its modules' causal
    variant of the rule), one example per row and packed rows: the same loss parts."""
    twins = _twins(method_id)
    for packed in (False, True):
        batch = twins["sdpa"][1].build_batch(EXAMPLES, pad_id=0)
        batch = pack(batch, pad_id=0) if packed else batch
        with torch.no_grad():
            parts = {attn: {k: float(t.value) for k, t in method.loss_terms(model, batch).items()}
                     for attn, (model, method) in twins.items()}
        assert parts["flex_attention"] == pytest.approx(parts["sdpa"], abs=1e-5), packed


def test_a_wrong_block_mask_changes_the_logits():
    """The comparison above can fail: regular tokens that see registers give other logits."""
    twins = _twins("mutor", d_max=3)
    model = twins["flex_attention"][0]
    batch = twins["sdpa"][1].build_batch(EXAMPLES, pad_id=0)
    kwargs = batch.kwargs_for(model)
    assert masks.attention_of(model) == "flex_attention"
    assert type(kwargs["attention_mask"]).__name__ == "BlockMask"
    with torch.no_grad():
        right = model(**kwargs).logits
        kwargs["attention_mask"] = masks.block_mask(batch.key_index * 0, batch.horizon)
        wrong = model(**kwargs).logits
    regular = ~batch.is_register & (torch.arange(batch.input_ids.shape[1]) < batch.lengths[:, None])
    assert (right - wrong)[regular].abs().max() > 1e-3


def test_flex_prefill_decodes_like_sdpa():
    twins = _twins("ntp")
    prompts = [e.prompt_ids for e in EXAMPLES]
    outs = {attn: greedy_generate(model, prompts, max_new_tokens=6, eos_id=-1, pad_id=0)
            for attn, (model, _) in twins.items()}
    assert outs["flex_attention"] == outs["sdpa"]


def test_training_with_flex_on_a_cpu_is_one_line(tmp_path):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
           "TRANSFORMERS_OFFLINE": "1", "PYTHONPATH": str(ROOT / "src"), "CUDA_VISIBLE_DEVICES": ""}
    proc = subprocess.run([sys.executable, "-m", "mutorbench.cli", "train", "--no-progress",
                           "--set", f"output_dir={tmp_path}", "--set",
                           "model.attn_implementation=flex_attention"],
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "mutor-bench: error: model.attn_implementation=flex_attention cannot train on the CPU "
        "(PyTorch has no FlexAttention backward there); use sdpa, or a GPU"]
    assert not any(tmp_path.iterdir())  # refused before the run folder exists
