"""`arith`: generated GSM8K-style two-step word problems (tiny scale; deterministic, offline).

Prompt template is the paper's math template, ``"Question: {q}\\n\\nAnswer:"``, and the answer is a
worked solution ending in ``#### N``; the metric (``arith``) is exact match on N.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from mutorbench.registry import TASKS
from mutorbench.tasks.generated import GeneratedTask

NAMES = ["Tom", "Ana", "Li", "Sam", "Mia", "Omar", "Zoe", "Ravi"]
ITEMS = ["apples", "pens", "cards", "books", "coins", "shells"]


def make_problem(rng: random.Random) -> tuple[str, str]:
    name, item = rng.choice(NAMES), rng.choice(ITEMS)
    a, b, c = rng.randint(1, 40), rng.randint(2, 9), rng.randint(2, 9)
    prompt = (f"Question: {name} has {a} {item} and buys {b} boxes with {c} {item} each. "
              f"How many {item} does {name} have now?\n\nAnswer:")
    answer = f" {b} * {c} = {b * c}. {a} + {b * c} = {a + b * c}.\n#### {a + b * c}"
    return prompt, answer


@TASKS.register
@dataclass
class ArithTask(GeneratedTask):
    name: str = "arith"
    metric: str = "arith"

    def make(self, rng: random.Random) -> tuple[str, str]:
        return make_problem(rng)
