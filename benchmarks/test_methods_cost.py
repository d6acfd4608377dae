"""Step time and memory of every arm on one tiny Gemma-style config, in one run (issue 5).

Memory on CPU: the bytes autograd saves for the backward pass (activations; deterministic, what a
GPU's peak grows with) plus the trainable parameters; on CUDA also ``max_memory_allocated``.
Run: ``tox -e bench -- -k methods_cost``.
"""

import copy
import random
import statistics
import time

import torch

from mutorbench.examples import Example
from mutorbench.methods.losses import combine
from mutorbench.methods.multi_token import DSMultiToken, MultiToken
from mutorbench.methods.mutor import MuToR
from mutorbench.methods.ntp import NextToken
from mutorbench.models.tiny import build_model, tiny_config
from mutorbench.models.tokenizer import train_bpe_tokenizer

B, PROMPT, ANSWER, PAD = 8, 128, 128, 0
TOKENIZER = train_bpe_tokenizer([f"{i} apples and {i + 1} pens" for i in range(200)], vocab_size=512)
VOCAB = len(TOKENIZER)
CONFIG = tiny_config("gemma", VOCAB, hidden_size=128, num_layers=4, num_heads=8, num_kv_heads=1,
                     intermediate_size=512, pad_token_id=PAD)
ARMS = {"ntp": lambda: NextToken(), "mutor": lambda: MuToR(d_max=4, a=0.3),
        "multi_token_d2": lambda: MultiToken(d_max=2), "multi_token_d4": lambda: MultiToken(d_max=4),
        "ds_multi_token_d2": lambda: DSMultiToken(d_max=2)}


def saved_bytes(fn) -> int:
    total = 0

    def pack(t):
        nonlocal total
        total += t.numel() * t.element_size()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn()
    return total


def test_methods_cost(benchmark):
    rng = random.Random(0)
    examples = [Example([rng.randrange(3, VOCAB) for _ in range(PROMPT)],
                        [rng.randrange(3, VOCAB) for _ in range(ANSWER)], i) for i in range(B)]
    arms = {}
    for name, make in ARMS.items():
        model = build_model(CONFIG, seed=0).train()
        method = make()
        method.prepare(model, copy.deepcopy(TOKENIZER))
        batch = method.build_batch(examples, pad_id=PAD)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4)

        def loss(model=model, method=method, batch=batch):
            return combine(method.loss_terms(model, batch), method.loss_weights())

        def step(loss=loss, opt=opt):
            loss().backward()
            opt.step()
            opt.zero_grad(set_to_none=True)

        step()  # warm-up
        arms[name] = {"step": step, "times": [],
                      "saved_MB": saved_bytes(lambda loss=loss: loss()) / 2**20,
                      "params_M": sum(p.numel() for p in model.parameters()) / 1e6}

    def paired_round():  # interleave the arms so machine drift hits all alike
        for arm in arms.values():
            t0 = time.perf_counter()
            arm["step"]()
            arm["times"].append(time.perf_counter() - t0)

    benchmark.pedantic(paired_round, rounds=8, iterations=1)
    ntp = arms["ntp"]
    print()
    for name, arm in arms.items():
        ratio = statistics.median(t / n for t, n in zip(arm["times"], ntp["times"]))
        benchmark.extra_info[name] = {"step_ratio": ratio, "saved_MB": arm["saved_MB"],
                                      "params_M": arm["params_M"]}
        print(f"{name:<18} step {statistics.median(arm['times']) * 1e3:7.1f} ms  x{ratio:.2f} NTP  "
              f"saved activations {arm['saved_MB']:7.1f} MB (x{arm['saved_MB'] / ntp['saved_MB']:.2f})"
              f"  params {arm['params_M']:.2f}M")
        assert ratio > 0.8  # every arm does at least the next-token work
