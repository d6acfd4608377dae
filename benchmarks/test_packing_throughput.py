"""Padded vs packed micro-batches on the real GSM8K train length distribution (issue 17).

GSM8K's train split (../shared/realdata) tokenized by a tiny BPE tokenizer trained on it, the
suite's data order, micro-batch 8; a tiny Gemma-style model (4 x 128). Reports the padding share
and tokens/s padded vs packed for next-token and MuToR (d_max 4). Run: ``tox -e bench -- -k
packing``. Skipped without the real data.
"""

import copy
import json
import statistics
from pathlib import Path

import pytest
import torch

from mutorbench.examples import tokenize_examples
from mutorbench.integrations.hf import make_method
from mutorbench.models.tiny import build_model, tiny_config
from mutorbench.models.tokenizer import train_bpe_tokenizer
from mutorbench.throughput import global_batches, measure

GSM8K = Path(__file__).resolve().parents[1] / ".." / "shared" / "realdata" / "gsm8k" / "train.jsonl"
MICRO, STEPS = 8, 10


def test_packing_throughput(benchmark):
    if not GSM8K.is_file():
        pytest.skip(f"{GSM8K} not present")
    rows = [json.loads(line) for line in GSM8K.read_text().splitlines()]
    pairs = [(f"Question: {r['question']}\n\nAnswer:", " " + r["answer"]) for r in rows]
    tok = train_bpe_tokenizer([p + a for p, a in pairs[:3000]], 512)
    examples = tokenize_examples(tok, pairs)
    lengths = [len(e.prompt_ids) + len(e.answer_ids) for e in examples]
    batches = global_batches(examples, MICRO, STEPS + 2)
    config = tiny_config("gemma", len(tok) + 8, hidden_size=128, num_layers=4, num_heads=8,
                         num_kv_heads=1, intermediate_size=512, pad_token_id=tok.pad_token_id)
    results = {}

    def run_all():
        for method_id, opts in (("ntp", {}), ("mutor", {"d_max": 4, "a": 0.3})):
            for layout in ("padded", "packed"):
                t = copy.deepcopy(tok)
                model = build_model(config, seed=0).train()
                method = make_method(method_id, **opts)
                method.prepare(model, t)
                results[(method_id, layout)] = measure(
                    model, method, batches, pad_id=t.pad_token_id, layout=layout,
                    micro_batch=MICRO)

    torch.manual_seed(0)
    benchmark.pedantic(run_all, rounds=1, iterations=1)
    print(f"\nGSM8K train: {len(lengths)} examples, tokens median {statistics.median(lengths)}, "
          f"max {max(lengths)}; micro-batch {MICRO}")
    for method_id in ("ntp", "mutor"):
        padded, packed = results[(method_id, "padded")], results[(method_id, "packed")]
        ratio = packed["regular_tokens_per_s"] / padded["regular_tokens_per_s"]
        benchmark.extra_info[method_id] = {"padding_padded": padded["padding"],
                                           "padding_packed": packed["padding"],
                                           "packed_over_padded_tokens_per_s": ratio}
        print(f"{method_id:6} padding {padded['padding']:.2f} -> {packed['padding']:.2f}; "
              f"regular tokens/s {padded['regular_tokens_per_s']:.0f} -> "
              f"{packed['regular_tokens_per_s']:.0f} (x{ratio:.2f})")
        assert packed["padding"] < padded["padding"]
