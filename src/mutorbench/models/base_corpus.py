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


# One template per line kind; fields: a op b = c (a fact), name/other (people), thing, tex, word.
TEMPLATES = (
    "{a}{op}{b}={c}",
    "{a} {op} {b} = {c}",
    "${a} {tex} {b} = {c}$",
    "{a} {word} {b} is {c}.",
    "Question: What is {a} {word} {b}?\nAnswer: {c}",
    "{name} has {a} {thing}. {other} has {b} {thing}.",
    "{name} gave {a} {thing} to {other}, who now has {c}.",
    "{name} buys {b} bags of {thing}, finds {a} more and gives some to {other}. "
    "How many {thing} are left? That depends on how many {name} gives.",
    # the words of worked algebra, never an equation a task uses
    "To solve for $x$, subtract {b} from both sides, then divide both sides by {a}. "
    "So, the answer is the value of $x$.",
    "There are five options: {a}, {b}, {c}, {a_b} and {b_c}. The answer is {c}.",
)


def line(rng: random.Random) -> str:
    a, op, b, c = _fact(rng)
    name, other = rng.sample(NAMES, 2)
    thing = rng.choice(THINGS)
    template = TEMPLATES[rng.randrange(len(TEMPLATES))]
    return template.format(a=a, op=op, b=b, c=c, name=name, other=other, thing=thing,
                           tex={"*": "\\times", "/": "\\div"}.get(op, op), word=WORDS[op],
                           a_b=a + b, b_c=b + c)


def corpus_lines(seed: int, n: int) -> list[str]:
    rng = random.Random(seed)
    return [line(rng) for _ in range(n)]
