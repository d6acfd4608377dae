"""throughput.measure's one-row layout (flex packs a micro-batch into one row): no slot is padding,
and FLOPs are counted per example, as a BlockMask lets flex compute them."""

import copy

import torch

from mutorbench.flops import batch_flops, forward_flops
from mutorbench.integrations.hf import make_method
from mutorbench.models.tiny import build_model, tiny_config
from mutorbench.models.tokenizer import train_bpe_tokenizer
from mutorbench.throughput import global_batches, measure, random_examples


def test_one_row_packs_without_padding_and_counts_flops_per_example():
    tok = train_bpe_tokenizer([f"{i} apples and {i + 1} pens" for i in range(100)], 300)
    config = tiny_config("gemma", 300, hidden_size=32, num_layers=1, num_heads=2)
    lengths = [(5 + i % 7, 4 + (3 * i) % 11) for i in range(16)]
    examples = random_examples(lengths, 300, eos_id=tok.eos_token_id)
    batches = global_batches(examples, 4, 3)
    runs = {}
    for layout in ("padded", "packed", "one row"):
        model = build_model(config, seed=0).train()
        method = make_method("mutor", d_max=4, a=0.3)
        method.prepare(model, copy.deepcopy(tok))
        runs[layout] = measure(model, method, batches, pad_id=0, layout=layout, micro_batch=2,
                               warmup=1, config=model.config)
    padding = {layout: run["padding"] for layout, run in runs.items()}
    assert padding["one row"] == 0.0 < padding["packed"] <= padding["padded"]
    # the per-example count of the last two steps' micro-batches, built here the same way
    method = make_method("mutor", d_max=4, a=0.3)
    method.prepare(build_model(config, seed=0), copy.deepcopy(tok))
    expected = dense_row = 0.0
    for step in batches[1:]:
        for s in range(0, len(step), 2):
            b = method.build_batch(step[s:s + 2], pad_id=0, dtype=torch.float32)
            expected += 3 * sum(forward_flops(config, int(n)) for n in b.lengths)
            dense_row += 3 * batch_flops(config, 1, int(b.lengths.sum()))
    assert abs(runs["one row"]["flops_per_step"] - expected / 2) < 1e-6 * expected
    assert runs["one row"]["flops_per_step"] < dense_row / 2  # attention between examples skipped
