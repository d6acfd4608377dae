"""Shared constants and random batches for the tests."""

import random

VOCAB = 96
PAD, BOS, EOS, REG = 0, 1, 2, VOCAB - 1  # REG: the last row plays the register in pure-model tests
ARCHS = ("llama", "gemma", "qwen2", "gpt2")
ATTN = ("sdpa", "eager")


def random_batch(rng: random.Random, batch: int, *, max_prompt=9, max_answer=9, max_d=5):
    """Prompts and answers of unequal lengths drawn from regular tokens (never PAD/REG)."""
    prompts = [[BOS] + [rng.randrange(3, REG) for _ in range(rng.randint(0, max_prompt - 1))]
               for _ in range(batch)]
    answers = [[rng.randrange(3, REG) for _ in range(rng.randint(0, max_answer - 1))] + [EOS]
               for _ in range(batch)]
    offsets = [rng.randint(1, max_d) for _ in range(batch)]
    return prompts, answers, offsets
