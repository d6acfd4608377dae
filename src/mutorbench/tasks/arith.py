"""`arith`: generated GSM8K-style two-step word problems (tiny scale; deterministic, offline).

Prompt template is the paper's math template, ``"Question: {q}\\n\\nAnswer:"``, and the answer is a
worked solution ending in ``#### N``; the metric (``arith``) is exact match on N.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

NAMES = ["Tom", "Ana", "Li", "Sam", "Mia", "Omar", "Zoe", "Ravi"]
ITEMS = ["apples", "pens", "cards", "books", "coins", "shells"]


def make_problem(rng: random.Random) -> tuple[str, str]:
    name, item = rng.choice(NAMES), rng.choice(ITEMS)
    a, b, c = rng.randint(1, 40), rng.randint(2, 9), rng.randint(2, 9)
    prompt = (f"Question: {name} has {a} {item} and buys {b} boxes with {c} {item} each. "
              f"How many {item} does {name} have now?\n\nAnswer:")
    answer = f" {b} * {c} = {b * c}. {a} + {b * c} = {a + b * c}.\n#### {a + b * c}"
    return prompt, answer


def final_answer(text: str) -> str | None:
    if "####" not in text:
        return None
    return text.split("####", 1)[1].strip().split("\n")[0].strip() or None


@dataclass
class ArithTask:
    data_seed: int = 0
    train_examples: int = 2000
    eval_examples: int = 128
    name: str = "arith"
    metric: str = "arith"

    def sources(self) -> dict:
        return {"generator": "mutorbench.tasks.arith", "data_seed": self.data_seed,
                "train_examples": self.train_examples, "eval_examples": self.eval_examples}

    def _all(self) -> list[tuple[str, str]]:
        rng = random.Random(self.data_seed)
        return [make_problem(rng) for _ in range(self.train_examples + 2 * self.eval_examples)]

    def texts(self, split: str) -> list[tuple[str, str]]:
        problems = self._all()
        n, m = self.train_examples, self.eval_examples
        splits = {"train": problems[:n], "test": problems[n:n + m],
                  "validation": problems[n + m:n + 2 * m]}
        if split not in splits:
            raise ValueError(f"task 'arith' has splits train, validation and test, not {split!r}")
        return splits[split]

    def tokenizer_corpus(self) -> list[str]:
        return [p + a for p, a in self.texts("train")]
