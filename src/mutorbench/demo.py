"""`mutor-bench demo`: next-token vs MuToR on a tiny model, trained from scratch on generated problems.

Everything is local and seeded: generated GSM8K-style word problems, a byte-level BPE tokenizer
trained on them, a tiny Gemma-style model built from a config. Both arms start from the same weights
and see the same batches in the same order; only the objective differs. The full training loop with
budgets, checkpoints and result JSON is `mutor-bench train` (a later milestone); this is the smoke run.
"""

from __future__ import annotations

import copy
import random
import time
from dataclasses import dataclass

import torch
from tqdm.auto import tqdm

from mutorbench.evaluation.generation import greedy_generate
from mutorbench.examples import Example, tokenize_example
from mutorbench.methods.mutor import MuToR
from mutorbench.methods.ntp import NextToken
from mutorbench.models.tiny import build_model, tiny_config
from mutorbench.models.tokenizer import train_bpe_tokenizer

NAMES = ["Tom", "Ana", "Li", "Sam", "Mia", "Omar", "Zoe", "Ravi"]
ITEMS = ["apples", "pens", "cards", "books", "coins", "shells"]


def make_problem(rng: random.Random) -> tuple[str, str]:
    """A two-step word problem with a GSM8K-style worked answer ending in '#### N'."""
    name, item = rng.choice(NAMES), rng.choice(ITEMS)
    a, b, c = rng.randint(1, 40), rng.randint(2, 9), rng.randint(2, 9)
    prompt = (f"Question: {name} has {a} {item} and buys {b} boxes with {c} {item} each. "
              f"How many {item} does {name} have now?\n\nAnswer:")
    answer = f" {b} * {c} = {b * c}. {a} + {b * c} = {a + b * c}.\n#### {a + b * c}"
    return prompt, answer


@dataclass
class DemoConfig:
    steps: int = 600
    batch_size: int = 16
    lr: float = 3e-3
    warmup_fraction: float = 0.1
    seed: int = 0
    train_examples: int = 2000
    eval_examples: int = 128
    arch: str = "gemma"
    hidden_size: int = 96
    num_layers: int = 2
    d_max: int = 4
    a: float = 0.3

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "train_examples", "eval_examples", "hidden_size",
                     "num_layers", "d_max"):
            if getattr(self, name) < 1:
                raise ValueError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(self, name)}")
        if self.hidden_size % 4:
            raise ValueError(f"--hidden-size must be a multiple of 4 (4 heads), got {self.hidden_size}")
        if not 0.0 <= self.a <= 1.0:
            raise ValueError(f"--a must be in [0, 1], got {self.a}")


def build_data(cfg: DemoConfig):
    rng = random.Random(cfg.seed)
    train = [make_problem(rng) for _ in range(cfg.train_examples)]
    test = [make_problem(rng) for _ in range(cfg.eval_examples)]
    tokenizer = train_bpe_tokenizer((p + a for p, a in train), vocab_size=384)
    examples = [tokenize_example(tokenizer, p, a, index=i) for i, (p, a) in enumerate(train)]
    return tokenizer, examples, test


def batch_order(cfg: DemoConfig, n: int) -> list[list[int]]:
    """Example indices per step, a function of the seed only: both arms consume the same order."""
    rng = random.Random(cfg.seed + 1)
    order: list[int] = []
    while len(order) < cfg.steps * cfg.batch_size:
        epoch = list(range(n))
        rng.shuffle(epoch)
        order += epoch
    return [order[s * cfg.batch_size:(s + 1) * cfg.batch_size] for s in range(cfg.steps)]


def train_arm(model, method, examples: list[Example], order, cfg: DemoConfig, pad_id: int):
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, betas=(0.9, 0.999), weight_decay=0.0)
    warmup = max(1, int(cfg.warmup_fraction * cfg.steps + 0.999))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warmup, max(0.0, (cfg.steps - s) / max(1, cfg.steps - warmup)))
    )
    model.train()
    history, tokens, start = [], 0, time.perf_counter()
    bar = tqdm(order, desc=f"{method.id:>5}", unit="step", dynamic_ncols=True, mininterval=1.0)
    for step, idx in enumerate(bar):
        epoch = step * cfg.batch_size // len(examples)
        batch = method.build_batch([examples[i] for i in idx], pad_id=pad_id, epoch=epoch)
        losses = method.losses(model, batch)
        losses["loss"].backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        tokens += int(batch.lengths.sum())
        history.append({k: v.item() for k, v in losses.items()})
        if step % 10 == 0 or step == cfg.steps - 1:
            shown = {k.removeprefix("loss_") or "loss": f"{v:.3f}" for k, v in history[-1].items()}
            bar.set_postfix(**shown, tok_s=f"{tokens / (time.perf_counter() - start):.0f}",
                            refresh=False)
    return history, tokens / (time.perf_counter() - start)


def accuracy(model, tokenizer, test, suppress) -> float:
    model.eval()
    prompts = [tokenizer(p)["input_ids"] for p, _ in test]
    correct = 0
    for s in range(0, len(prompts), 32):
        outs = greedy_generate(model, prompts[s:s + 32], max_new_tokens=40,
                               eos_id=tokenizer.eos_token_id, pad_id=tokenizer.pad_token_id,
                               suppress_ids=suppress)
        for out, (_, answer) in zip(outs, test[s:s + 32]):
            text = tokenizer.decode(out, skip_special_tokens=True)
            correct += text.split("####")[-1].strip() == answer.split("####")[-1].strip()
    return 100.0 * correct / len(test)


def run_demo(cfg: DemoConfig) -> dict:
    torch.manual_seed(cfg.seed)
    tokenizer, examples, test = build_data(cfg)
    print(f"data: {len(examples)} generated problems, tokenizer vocab {len(tokenizer)}, "
          f"seed {cfg.seed}")
    model_cfg = tiny_config(cfg.arch, len(tokenizer), hidden_size=cfg.hidden_size,
                            num_layers=cfg.num_layers, pad_token_id=tokenizer.pad_token_id,
                            bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id)
    order = batch_order(cfg, len(examples))
    results = {}
    for method in (NextToken(), MuToR(d_max=cfg.d_max, a=cfg.a, seed=cfg.seed)):
        model = build_model(model_cfg, seed=cfg.seed)  # identical base weights for both arms
        tok = copy.deepcopy(tokenizer)
        method.prepare(model, tok)
        suppress = getattr(method, "register_ids", [])
        history, tok_s = train_arm(model, method, examples, order, cfg, tokenizer.pad_token_id)
        last = history[-20:]
        results[method.id] = {
            "final_loss": {k: sum(h[k] for h in last) / len(last) for k in last[0]},
            "accuracy": accuracy(model, tokenizer, test, suppress),
            "tokens_per_s": tok_s,
        }
    print_summary(cfg, results)
    return results


def print_summary(cfg: DemoConfig, results: dict) -> None:
    print(f"\nsummary: {cfg.steps} steps x batch {cfg.batch_size}, tiny {cfg.arch} "
          f"(hidden {cfg.hidden_size}, {cfg.num_layers} layers), seed {cfg.seed}; "
          f"MuToR d_max={cfg.d_max}, a={cfg.a}")
    print(f"{'method':<8}{'loss':>8}{'regular':>9}{'register':>10}{'accuracy %':>12}{'tok/s':>9}")
    for mid, r in results.items():
        fl = r["final_loss"]
        reg = f"{fl['loss_register']:.3f}" if "loss_register" in fl else "-"
        print(f"{mid:<8}{fl['loss']:>8.3f}{fl['loss_regular']:>9.3f}{reg:>10}"
              f"{r['accuracy']:>12.1f}{r['tokens_per_s']:>9.0f}")
    print("(loss: mean of the last 20 steps; accuracy: exact '#### N' on "
          f"{cfg.eval_examples} held-out generated problems, greedy, bidirectional prefill)")
