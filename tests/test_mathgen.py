"""The tiny Table 1 tasks: each generator writes its real dataset's format, and the answers are right."""

import re
from collections import Counter
from fractions import Fraction

import pytest

from mutorbench.bench.trivial import trivial_baseline
from mutorbench.evaluation.answers import boxed_contents, is_correct_aqua, is_correct_math
from mutorbench.evaluation.evaluator import get_scorer
from mutorbench.tasks import GENERATED_TASKS, build_task
from mutorbench.tasks.base import majority_completion
from mutorbench.tasks.dialogues import DialoguesTask
from mutorbench.tasks.generated import GeneratedConfig
from mutorbench.tasks.mathgen import AquaGenTask, GSM8KGenTask, MathGenTask, OpenMathGSMGenTask
from mutorbench.tasks.summarization import lead_lines

CALC = re.compile(r"(\d+)([*+-])(\d+)=<<\1\2\3=(\d+)>>\4")


def small(cls, **kw):
    return cls(train_examples=kw.get("train", 300), eval_examples=kw.get("eval", 40),
               data_seed=kw.get("seed", 0))


def test_gsm8k_gen_has_calculator_steps_and_a_final_hash_answer():
    for prompt, answer in small(GSM8KGenTask).texts("train"):
        assert prompt.startswith("Question: ") and prompt.endswith("\n\nAnswer:")
        steps = CALC.findall(answer)
        assert len(steps) == 2, answer
        for x, op, y, value in steps:  # every annotated step is correct arithmetic
            assert {"*": int(x) * int(y), "+": int(x) + int(y), "-": int(x) - int(y)}[op] == int(value)
        assert answer.endswith(f"\n#### {steps[-1][3]}")
        assert get_scorer("gsm8k")([answer], [answer])[0]["accuracy"] == 100.0


def test_openmath_gsm_trains_on_boxed_solutions_and_tests_on_the_gsm8k_problems():
    om, gsm = small(OpenMathGSMGenTask, seed=1), small(GSM8KGenTask)
    for _, solution in om.texts("train"):
        assert "<<" not in solution and solution.endswith("\\]") and len(boxed_contents(solution)) == 1
    assert om.texts("test") == gsm.texts("test") and om.texts("validation") == gsm.texts("validation")
    # a model that writes the OpenMath format is scored on GSM8K references by its first box
    _, reference = om.texts("test")[0]
    value = reference.split("#### ")[1]
    assert get_scorer("gsm8k_boxed")([f" ... \\[ \\boxed{{{value}}} \\]"], [reference])[0]["accuracy"] == 100
    # the 2M-GSM stand-in (same seed, twice the data) contains the 1M-GSM one, as train_2M does
    big = small(OpenMathGSMGenTask, seed=1, train=600)
    assert big.texts("train")[:300] == om.texts("train")


def test_math_gen_answers_solve_their_equation_and_pass_math_verify():
    task = small(MathGenTask)
    fractions = 0
    for prompt, answer in task.texts("test"):
        a, b, c = (int(v) for v in re.search(r"\$(\d+)x \+ (\d+) = (-?\d+)\$", prompt).groups())
        m = re.fullmatch(r"(-?)\\frac\{(\d+)\}\{(\d+)\}", answer)
        x = Fraction(int(m[2]), int(m[3])) * (-1 if m[1] else 1) if m else Fraction(int(answer))
        fractions += bool(m)
        assert a * x + b == c
        assert is_correct_math(f"so \\[ \\boxed{{{answer}}} \\]", answer)
    assert 0 < fractions < len(task.texts("test"))  # integers and reduced fractions both occur
    for _, solution in task.texts("train")[:50]:
        assert solution.rstrip().endswith("\\]") and boxed_contents(solution)


def test_aqua_gen_has_five_options_and_a_uniform_correct_letter():
    task = small(AquaGenTask, train=1000)
    letters = Counter()
    for prompt, target in task.texts("train"):
        options = dict(re.findall(r"([A-E])\)(-?\d+)", prompt.split("Options: ")[1]))
        letter = target.split("#### ")[1]
        assert len(options) == 5 and is_correct_aqua(target, letter)
        last_value = target.split(" = ")[-1].split(".")[0]
        assert options[letter] == last_value
        letters[letter] += 1
    assert set(letters) == set("ABCDE") and max(letters.values()) < 260  # about 200 each


@pytest.mark.parametrize("cls", [GSM8KGenTask, OpenMathGSMGenTask, MathGenTask, AquaGenTask])
def test_generated_math_is_deterministic_and_never_trains_on_evaluation_problems(cls):
    a, b = small(cls), small(cls)
    assert a.texts("train") == b.texts("train") and a.texts("test") == b.texts("test")
    held_out = {p for p, _ in a.texts("test") + a.texts("validation")}
    assert held_out.isdisjoint(p for p, _ in a.texts("train"))
    assert small(cls, seed=5).texts("train") != a.texts("train")
    assert small(cls, seed=5).texts("test") == a.texts("test")  # evaluation sets never move


def test_generated_tasks_resolve_from_config():
    for name in ("gsm8k-gen", "openmath-gsm-gen", "math-gen", "aqua-gen"):
        task = build_task(GeneratedConfig(name=name, train_examples=10, eval_examples=3))
        assert isinstance(task, GENERATED_TASKS[name]) and len(task.texts("test")) == 3


def test_majority_answer_baseline_scores_the_most_frequent_training_answer():
    task = small(AquaGenTask, train=1000, eval=100)
    completion, letter = majority_completion(task)
    train_letters = Counter(t.split("#### ")[1] for _, t in task.texts("train"))
    assert letter == train_letters.most_common(1)[0][0] and completion.endswith(f"#### {letter}")
    test_share = 100 * sum(t.endswith(f"#### {letter}") for _, t in task.texts("test")) / 100
    assert trivial_baseline(task)["values"]["accuracy"] == pytest.approx(test_share)
    gsm = trivial_baseline(small(GSM8KGenTask, train=1000, eval=100))
    assert gsm["values"]["accuracy"] < 5 and gsm["rule"].startswith("majority answer")


def test_lead_baseline_summarizes_with_the_first_dialogue_line():
    task = DialoguesTask(train_examples=10, eval_examples=20)
    prompt, _ = task.texts("test")[0]
    assert lead_lines(prompt, 1) == prompt.split("\n")[1]
    values = trivial_baseline(task)["values"]
    assert 10 < values["rougeL"] < 45 and set(values) == {"rouge1", "rouge2", "rougeL", "rougeLsum"}
    with pytest.raises(ValueError, match="summarization template"):
        lead_lines("Question: hi", 1)
