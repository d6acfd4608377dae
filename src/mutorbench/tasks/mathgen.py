"""Generated math tasks for the tiny Table 1, each in the format of the real dataset it stands for.

- ``gsm8k-gen``: GSM8K-style two-step word problems; solution lines with calculator annotations
  ``3*4=<<3*4=12>>12`` and a final ``#### N`` (metric ``gsm8k``).
- ``openmath-gsm-gen``: the same problem family with OpenMathInstruct-2-style solutions (LaTeX
  steps, ``\\[ \\boxed{N} \\]``) for training; evaluated on the GSM8K-style test problems of
  ``gsm8k-gen`` with the first ``\\boxed{}`` (metric ``gsm8k_boxed``), as the paper tested models
  trained on 1M-GSM/2M-GSM. The 2M-GSM stand-in is this task with more examples of the same seed.
- ``math-gen``: MATH-style linear equations whose answers are integers or reduced fractions
  (``\\frac{7}{4}``); OpenMath-style training solutions, MATH500-style evaluation (the reference is
  the bare answer, checked against the last ``\\boxed{}`` with math-verify; metric ``math``).
- ``aqua-gen``: AQUA-RAT-style five-option problems under our AQUA template (``#### X``; metric
  ``aqua``); the correct letter is uniform over A-E.

Training pairs come from ``Random(data_seed)``; evaluation pairs (test, then validation) from a
fixed stream per problem family, so every GSM column is tested on the same problems whatever its
training data. Training problems whose question appears in an evaluation split are skipped.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from fractions import Fraction

from mutorbench.registry import TASKS
from mutorbench.tasks.generated import GeneratedTask
from mutorbench.tasks.gsm8k import math_prompt

NAMES = ["Tom", "Ana", "Li", "Sam", "Mia", "Omar", "Zoe", "Ravi", "Kim", "Leo"]
ITEMS = ["apples", "pens", "cards", "books", "coins", "shells", "stamps", "marbles"]
EVAL_STREAM = {"gsm": 10_001, "math": 10_002, "aqua": 10_003}  # fixed: eval sets never move


@dataclass(frozen=True)
class Step:
    """One worked step: ``x op y = value {unit}``."""
    x: int
    op: str
    y: int
    value: int
    unit: str


def _step(x: int, op: str, y: int, unit: str) -> Step:
    value = {"*": x * y, "+": x + y, "-": x - y}[op]
    return Step(x, op, y, value, unit)


def word_problem(rng: random.Random) -> tuple[str, list[Step]]:
    """A two-step grade-school problem (question, steps); the last step's value is the answer."""
    name, friend = rng.sample(NAMES, 2)
    item = rng.choice(ITEMS)
    kind = rng.randrange(3)
    # Small numbers (results <= 34): sized so a tiny CPU model lands mid-range (tiny Table 1).
    if kind == 0:  # a + b*c
        a, b, c = rng.randint(2, 9), rng.randint(2, 5), rng.randint(2, 5)
        q = f"{name} has {a} {item} and buys {b} bags of {c} {item}. How many {item} does {name} have?"
        s1 = _step(b, "*", c, item)
        return q, [s1, _step(a, "+", s1.value, item)]
    if kind == 1:  # a - b + c
        a, b, c = rng.randint(10, 20), rng.randint(1, 9), rng.randint(1, 9)
        q = (f"{name} has {a} {item}, gives {b} to {friend} and finds {c}. "
             f"How many {item} does {name} have?")
        s1 = _step(a, "-", b, item)
        return q, [s1, _step(s1.value, "+", c, item)]
    # b*c - a
    b, c = rng.randint(2, 5), rng.randint(2, 5)
    a = rng.randint(1, min(9, b * c - 1))  # never a negative count
    q = (f"{name} has {b} bags of {c} {item} and gives {a} {item} to {friend}. "
         f"How many {item} are left?")
    s1 = _step(b, "*", c, item)
    return q, [s1, _step(s1.value, "-", a, item)]


def gsm8k_solution(steps: list[Step]) -> str:
    lines = [f"{s.x}{s.op}{s.y}=<<{s.x}{s.op}{s.y}={s.value}>>{s.value} {s.unit}." for s in steps]
    return "\n".join(lines) + f"\n#### {steps[-1].value}"


def _tex(op: str) -> str:
    return {"*": "\\times", "+": "+", "-": "-"}[op]


def openmath_solution(steps: list[Step]) -> str:
    lines = [f"${s.x} {_tex(s.op)} {s.y} = {s.value}$ {s.unit}." for s in steps]
    return " ".join(lines) + f"\n\nSo, the answer is:\n\\[ \\boxed{{{steps[-1].value}}} \\]"


def _latex(value: Fraction) -> str:
    if value.denominator == 1:
        return str(value.numerator)
    sign = "-" if value < 0 else ""
    return f"{sign}\\frac{{{abs(value.numerator)}}}{{{value.denominator}}}"


def equation_problem(rng: random.Random) -> tuple[str, str, str]:
    """``a x + b = c`` in MATH style: (problem, OpenMath-style solution, answer in LaTeX)."""
    a, b = rng.randint(2, 5), rng.randint(1, 9)  # small: sized for the tiny Table 1
    x = Fraction(rng.randint(-3, 9)) if rng.random() < 0.8 else Fraction(rng.randint(1, 12), a)
    c = a * x + b
    assert c.denominator == 1
    c = int(c)
    answer = _latex(x)
    problem = f"Solve for $x$: ${a}x + {b} = {c}$."
    solution = (f"Subtract {b} from both sides: ${a}x = {c - b}$. Divide both sides by {a}: "
                f"$x = {answer}$.\n\nSo, the answer is:\n\\[ \\boxed{{{answer}}} \\]")
    return problem, solution, answer


LETTERS = "ABCDE"


def options_problem(rng: random.Random) -> tuple[str, str]:
    """An AQUA-style (prompt, target): a word problem, five options, rationale, ``#### X``."""
    question, steps = word_problem(rng)
    answer = steps[-1].value
    k = rng.randrange(5)  # the correct option's position: uniform over A-E
    gap = rng.randint(1, 4)
    values = [answer + gap * (i - k) for i in range(5)]
    options = " ".join(f"{letter}){v}" for letter, v in zip(LETTERS, values))
    prompt = f"Question: {question}\nOptions: {options}\n\nAnswer:"
    rationale = " ".join(f"{s.x}{s.op}{s.y} = {s.value}." for s in steps)
    return prompt, f" {rationale} {answer} is option {LETTERS[k]}. Answer: {LETTERS[k]}\n#### {LETTERS[k]}"


class _TwoStreamTask(GeneratedTask):
    """Training pairs from ``Random(data_seed)``, evaluation pairs from a fixed family stream."""

    family: str = "gsm"

    def train_pair(self, rng: random.Random) -> tuple[str, str]:
        raise NotImplementedError

    def eval_pair(self, rng: random.Random) -> tuple[str, str]:
        raise NotImplementedError

    def sources(self) -> dict:
        return {**super().sources(), "eval_stream": EVAL_STREAM[self.family]}

    def texts(self, split: str) -> list[tuple[str, str]]:
        if not self._pairs:
            rng = random.Random(EVAL_STREAM[self.family])
            held_out = [self.eval_pair(rng) for _ in range(2 * self.eval_examples)]
            seen = {p for p, _ in held_out}
            rng, train = random.Random(self.data_seed), []
            while len(train) < self.train_examples:
                pair = self.train_pair(rng)  # same prompt as the draw's evaluation form
                if pair[0] not in seen:
                    train.append(pair)
            self._pairs = train + held_out
        return super().texts(split)


@TASKS.register
@dataclass
class GSM8KGenTask(_TwoStreamTask):
    name: str = "gsm8k-gen"
    metric: str = "gsm8k"
    family = "gsm"

    def train_pair(self, rng):
        return self.eval_pair(rng)

    def eval_pair(self, rng):
        question, steps = word_problem(rng)
        return math_prompt(question), " " + gsm8k_solution(steps)


@TASKS.register
@dataclass
class OpenMathGSMGenTask(GSM8KGenTask):
    name: str = "openmath-gsm-gen"
    metric: str = "gsm8k_boxed"

    def train_pair(self, rng):
        question, steps = word_problem(rng)
        return math_prompt(question), " " + openmath_solution(steps)


@TASKS.register
@dataclass
class MathGenTask(_TwoStreamTask):
    name: str = "math-gen"
    metric: str = "math"
    family = "math"

    def train_pair(self, rng):
        problem, solution, _ = equation_problem(rng)
        return math_prompt(problem), " " + solution

    def eval_pair(self, rng):
        problem, _, answer = equation_problem(rng)
        return math_prompt(problem), answer


@TASKS.register
@dataclass
class AquaGenTask(_TwoStreamTask):
    name: str = "aqua-gen"
    metric: str = "aqua"
    family = "aqua"

    def train_pair(self, rng):
        return options_problem(rng)

    def eval_pair(self, rng):
        return options_problem(rng)
