"""Step time of NTP vs MuToR on a tiny Gemma-style model: batch 8, prompt 128 + answer 128 tokens.

Run: ``tox -e bench`` (or ``pytest benchmarks``). Targets (issue 2): MuToR/NTP step-time ratio
<= 1.05 x the analytic FLOP ratio of the padded shapes; input building < 3% of a MuToR step.
"""

import random
import statistics
import time

import pytest
import torch

from mutorbench.flops import batch_flops
from mutorbench.methods.mutor import MuToR, build_mutor_inputs, sample_offsets
from mutorbench.methods.ntp import NextToken, build_ntp_inputs
from mutorbench.models.tiny import build_model, tiny_config

B, PROMPT, ANSWER, VOCAB, PAD, REG = 8, 128, 128, 512, 0, 511
# Gemma-2B-like shape: multi-query attention (one KV head), GeGLU MLP, tied embeddings.
CONFIG = tiny_config("gemma", VOCAB, hidden_size=128, num_layers=4, num_heads=8, num_kv_heads=1,
                     intermediate_size=512)


def make_lists():
    rng = random.Random(0)
    prompts = [[rng.randrange(3, REG) for _ in range(PROMPT)] for _ in range(B)]
    answers = [[rng.randrange(3, REG) for _ in range(ANSWER)] for _ in range(B)]
    return prompts, answers, sample_offsets(0, 0, range(B), 1, 4)


def build(kind, prompts, answers, offsets):
    if kind == "ntp":
        return build_ntp_inputs(prompts, answers, pad_id=PAD)
    return build_mutor_inputs(prompts, answers, offsets=offsets, register_id=REG, pad_id=PAD)


OBJECTIVES = {"ntp": NextToken(), "mutor": MuToR(a=0.3), "ntp_same_length": NextToken()}


@pytest.fixture(scope="module")
def setup():
    torch.manual_seed(0)
    model = build_model(CONFIG, seed=0).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    lists = make_lists()
    batches = {k: build(k, *lists) for k in ("ntp", "mutor")}
    # next-token training on as many tokens as MuToR processes: isolates the cost of length itself
    rng = random.Random(1)
    longer = [a + [rng.randrange(3, REG) for _ in range(ANSWER)] for a in lists[1]]
    batches["ntp_same_length"] = build("ntp", lists[0], longer, None)

    def step(kind):
        OBJECTIVES[kind].losses(model, batches[kind])["loss"].backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)

    for kind in ("ntp", "mutor", "ntp", "mutor"):  # warm-up
        step(kind)
    return lists, batches, step


@pytest.mark.parametrize("kind", ["ntp", "mutor"])
def test_input_building(benchmark, setup, kind):
    lists, _, _ = setup
    batch = benchmark(build, kind, *lists)
    assert batch.input_ids.shape[0] == B


@pytest.mark.parametrize("kind", ["ntp", "mutor"])
def test_train_step(benchmark, setup, kind):
    _, _, step = setup
    benchmark.pedantic(step, args=(kind,), rounds=8, iterations=1)


def test_mutor_overhead_targets(benchmark, setup):
    lists, batches, step = setup
    times = {"ntp": [], "mutor": [], "ntp_same_length": [], "build": []}

    def paired_round():  # alternate the arms so drift on the machine hits both alike
        for kind in ("ntp", "mutor", "ntp_same_length"):
            t0 = time.perf_counter()
            step(kind)
            times[kind].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        build("mutor", *lists)
        times["build"].append(time.perf_counter() - t0)

    benchmark.pedantic(paired_round, rounds=20, iterations=1)
    med = {k: statistics.median(v) for k, v in times.items()}
    # median of per-round ratios: adjacent steps share the machine's state, so drift cancels
    step_ratio = statistics.median(m / n for m, n in zip(times["mutor"], times["ntp"]))
    same_length_ratio = statistics.median(
        m / n for m, n in zip(times["mutor"], times["ntp_same_length"]))
    flop_ratio = (batch_flops(CONFIG, B, batches["mutor"].input_ids.shape[1])
                  / batch_flops(CONFIG, B, batches["ntp"].input_ids.shape[1]))
    build_share = med["build"] / med["mutor"]
    benchmark.extra_info.update(step_ratio=step_ratio, flop_ratio=flop_ratio,
                                mutor_vs_ntp_same_length=same_length_ratio,
                                build_share=build_share, ntp_step_s=med["ntp"],
                                mutor_step_s=med["mutor"], threads=torch.get_num_threads())
    print(f"\nMuToR/NTP step time {step_ratio:.3f} (NTP {med['ntp'] * 1e3:.1f} ms, "
          f"MuToR {med['mutor'] * 1e3:.1f} ms); analytic FLOP ratio {flop_ratio:.3f}; "
          f"input building {100 * build_share:.2f}% of a MuToR step; MuToR vs NTP on as many "
          f"tokens {same_length_ratio:.3f}")
    assert step_ratio <= 1.05 * flop_ratio
    assert build_share < 0.03
    # registers cost what their tokens cost, nothing more (7%: run-to-run noise of a shared host)
    assert same_length_ratio <= 1.07
