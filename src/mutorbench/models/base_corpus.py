"""Generic generated text for pretraining the tiny base model (tiny scale; offline, deterministic).

The paper fine-tunes pretrained models that already read, count and do arithmetic. The tiny base
gets the same head start from lines of plain text: arithmetic facts written several ways (plain,
LaTeX, words), short sentences about people and things, and question/answer pairs. No line is
drawn from the fine-tuning tasks' generators: their formats (``<<a*b=c>>``, ``#### N``,
``\\boxed{}``, options) are left for fine-tuning to teach, as with a real base model.
"""

from __future__ import annotations

import random

CORPUS_VERSION = 1  # bump when the text changes: the cached bases are keyed by it
NAMES = ["Tom", "Ana", "Li", "Sam", "Mia", "Omar", "Zoe", "Ravi", "Kim", "Leo", "Eva", "Max"]
THINGS = ["apples", "pens", "cards", "books", "coins", "shells", "stamps", "marbles", "cups",
          "boxes", "bags", "shirts"]
WORDS = {"+": "plus", "-": "minus", "*": "times", "/": "divided by"}


def _fact(rng: random.Random) -> tuple[int, str, int, int]:
    op = rng.choice("++--*/")
    if op == "+":
        a, b = rng.randint(0, 99), rng.randint(0, 99)
        return a, op, b, a + b
    if op == "-":
        a = rng.randint(0, 150)
        b = rng.randint(0, a)
        return a, op, b, a - b
    a, b = rng.randint(1, 12), rng.randint(1, 12)
    return (a, op, b, a * b) if op == "*" else (a * b, op, b, a)


def line(rng: random.Random) -> str:
    a, op, b, c = _fact(rng)
    name, other = rng.sample(NAMES, 2)
    thing = rng.choice(THINGS)
    tex = {"*": "\\times", "/": "\\div"}.get(op, op)
    kind = rng.randrange(10)
    if kind == 0:
        return f"{a}{op}{b}={c}"
    if kind == 1:
        return f"{a} {op} {b} = {c}"
    if kind == 2:
        return f"${a} {tex} {b} = {c}$"
    if kind == 3:
        return f"{a} {WORDS[op]} {b} is {c}."
    if kind == 4:
        return f"Question: What is {a} {WORDS[op]} {b}?\nAnswer: {c}"
    if kind == 5:
        return f"{name} has {a} {thing}. {other} has {b} {thing}."
    if kind == 6:
        return f"{name} gave {a} {thing} to {other}, who now has {c}."
    if kind == 7:
        return (f"{name} buys {b} bags of {thing}, finds {a} more and gives some to {other}. "
                f"How many {thing} are left? That depends on how many {name} gives.")
    if kind == 8:  # the words of worked algebra, never an equation a task uses
        return (f"To solve for $x$, subtract {b} from both sides, then divide both sides by {a}. "
                f"So, the answer is the value of $x$.")
    return f"There are five options: {a}, {b}, {c}, {a + b} and {b + c}. The answer is {c}."


def corpus_lines(seed: int, n: int) -> list[str]:
    rng = random.Random(seed)
    return [line(rng) for _ in range(n)]
