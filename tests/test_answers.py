"""Answer checkers, table-driven (>= 30 cases each), including the paper code's known failures."""

import pytest

from mutorbench.evaluation.answers import (
    aqua_choice,
    boxed_contents,
    is_correct_aqua,
    is_correct_gsm8k,
    is_correct_math,
)

GSM_REF = "Natalia sold 48/2 = <<48/2=24>>24 clips in May.\n#### 72"

GSM8K_CASES = [
    # (completion, reference, answer_format, expected)
    ("She sold 72 clips.\n#### 72", GSM_REF, "####", True),
    ("#### 72", GSM_REF, "####", True),
    ("####72", GSM_REF, "####", True),
    ("#### 72.", GSM_REF, "####", True),  # sentence-final period: paper code reads '72.'
    ("#### 72.0", GSM_REF, "####", True),  # paper code: '72.0' != '72'
    ("#### 72.00", GSM_REF, "####", True),
    ("#### $72", GSM_REF, "####", True),
    ("#### 072", GSM_REF, "####", True),
    ("#### 71", GSM_REF, "####", False),
    ("#### 72.5", GSM_REF, "####", False),
    ("#### -72", GSM_REF, "####", False),
    ("The answer is 72", GSM_REF, "####", False),  # no '####': not extracted
    ("", GSM_REF, "####", False),
    ("#### 70\n#### 72", GSM_REF, "####", False),  # the first '####' counts
    ("#### 72\n#### 70", GSM_REF, "####", True),
    ("#### 1,234", "x\n#### 1234", "####", True),
    ("#### 1234", "x\n#### 1,234", "####", True),
    ("#### 1,234.50", "x\n#### 1234.5", "####", True),
    ("#### -5", "x\n#### -5", "####", True),
    ("#### -5", "x\n#### 5", "####", False),
    ("#### .5", "x\n#### 0.5", "####", True),
    ("#### 18.", "x\n#### 18", "####", True),
    ("#### 10%", "x\n#### 10", "####", True),  # a unit sign after the number is ignored
    ("#### abc", GSM_REF, "####", False),
    ("so \\boxed{72}.", GSM_REF, "boxed", True),
    ("\\boxed{72.0}", GSM_REF, "boxed", True),
    ("\\boxed{1,234}", "x\n#### 1234", "boxed", True),
    ("\\boxed{\\$72}", GSM_REF, "boxed", True),
    ("\\boxed{70} then \\boxed{72}", GSM_REF, "boxed", False),  # the first box counts
    ("\\boxed{72} then \\boxed{70}", GSM_REF, "boxed", True),
    ("\\boxed{72\\%}", GSM_REF, "boxed", True),
    ("#### 72", GSM_REF, "boxed", False),  # wrong format for a boxed model
    ("\\boxed{\\frac{144}{2}}", GSM_REF, "boxed", False),  # not a plain number
    ("\\boxed{72}", "72", "boxed", True),  # a bare-number reference
]


@pytest.mark.parametrize("completion,reference,fmt,expected", GSM8K_CASES)
def test_gsm8k(completion, reference, fmt, expected):
    assert is_correct_gsm8k(completion, reference, answer_format=fmt) is expected


def test_gsm8k_case_count_and_bad_input():
    assert len(GSM8K_CASES) >= 30
    with pytest.raises(ValueError, match="empty reference"):
        is_correct_gsm8k("#### 1", "  ")
    with pytest.raises(ValueError, match="no '#### N' number"):
        is_correct_gsm8k("#### 1", "no number here")
    with pytest.raises(ValueError, match="unknown answer_format"):
        is_correct_gsm8k("#### 1", "#### 1", answer_format="json")


MATH_CASES = [
    ("so the answer is \\boxed{\\frac{1}{2}}", "\\frac{1}{2}", True),
    ("\\boxed{0.5}", "\\frac{1}{2}", True),
    ("\\boxed{\\dfrac{1}{2}}", "\\frac{1}{2}", True),
    ("\\boxed{1/2}", "\\frac{1}{2}", True),
    ("\\boxed{\\frac12}", "\\frac{1}{2}", True),
    ("\\boxed{\\frac{2}{4}}", "\\frac{1}{2}", True),
    ("\\boxed{\\frac{1}{3}}", "\\frac{1}{2}", False),
    ("\\boxed{3}", "3", True),
    ("\\boxed{3.0}", "3", True),
    ("\\boxed{ 3 }", "3", True),
    ("\\boxed{4}", "3", False),
    ("first \\boxed{4} then \\boxed{3}", "3", True),  # the last box counts
    ("first \\boxed{3} then \\boxed{4}", "3", False),
    ("the answer is 3", "3", False),  # no box: not extracted
    ("", "3", False),
    ("\\boxed{}", "3", False),
    ("\\boxed{\\sqrt{2}}", "\\sqrt{2}", True),
    ("\\boxed{2^{1/2}}", "\\sqrt{2}", True),
    ("\\boxed{\\sqrt{3}}", "\\sqrt{2}", False),
    ("\\boxed{2\\pi}", "2\\pi", True),
    ("\\boxed{\\pi \\cdot 2}", "2\\pi", True),
    ("\\boxed{(x+1)^2}", "x^2+2x+1", True),
    ("\\boxed{x^2+1}", "x^2+2x+1", False),
    ("\\boxed{\\{1, 2\\}}", "\\{2, 1\\}", True),
    ("\\boxed{(1,2)}", "(1,2)", True),
    ("\\boxed{(2,1)}", "(1,2)", False),
    ("\\boxed{\\frac{\\sqrt{3}}{2}}", "\\frac{\\sqrt{3}}{2}", True),  # nested braces
    ("\\boxed{10\\%}", "10", True),
    ("\\fbox{7}", "7", True),
    ("\\boxed{-7}", "7", False),
    ("solution: ... \\boxed{5}", "The final answer is $\\boxed{5}$.", True),  # boxed reference
    ("\\boxed{\\text{(B)}}", "\\text{(B)}", True),
]


@pytest.mark.parametrize("completion,reference,expected", MATH_CASES)
def test_math(completion, reference, expected):
    assert is_correct_math(completion, reference) is expected


def test_math_case_count_boxes_and_bad_input():
    assert len(MATH_CASES) >= 30
    assert boxed_contents("a \\boxed{\\frac{a}{b}} b \\boxed{x^{2}} \\boxed{unclosed") == [
        "\\frac{a}{b}", "x^{2}"]
    with pytest.raises(ValueError, match="empty reference"):
        is_correct_math("\\boxed{1}", "")


AQUA_CASES = [
    ("The speed is 40 km/h.\n#### C", "C", True),
    ("#### C", "c", True),
    ("#### (C)", "C", True),
    ("####C", "C", True),
    ("#### c", "C", True),
    ("#### D", "C", False),
    ("#### C\n#### D", "C", True),  # the first '####' counts
    ("The answer is (C).", "C", True),
    ("The answer is C", "C", True),
    ("Answer: C", "C", True),
    ("answer: (E)", "E", True),
    ("The answer is option B", "B", True),
    ("Answer: A ... on reflection the answer is (B)", "B", True),  # the last phrase counts
    ("Answer: A ... on reflection the answer is (B)", "A", False),
    ("#### B then the answer is (C)", "B", True),  # '####' wins over phrases
    ("I think C is right", "C", False),  # no recognised marker
    ("", "A", False),
    ("#### F", "A", False),  # not an option
    ("#### Cats", "C", False),  # a word, not a letter
    ("The answer is (A)", "A", True),
    ("The answer is (A)", "B", False),
    ("#### E", "E", True),
    ("#### A.", "A", True),
    ("Answer:(D)", "D", True),
    ("ANSWER IS (D)", "D", True),
    ("#### (e)", "E", True),
    ("so x = 5\nAnswer: B\n", "B", True),
    ("Answer: Because 5 > 3", "B", False),  # 'Because' is a word, not option B
    ("the answer is 5 (A)", "A", False),
    ("#### B", "B ", True),
]


@pytest.mark.parametrize("completion,letter,expected", AQUA_CASES)
def test_aqua(completion, letter, expected):
    assert is_correct_aqua(completion, letter) is expected


def test_aqua_case_count_and_bad_input():
    assert len(AQUA_CASES) >= 30
    assert aqua_choice("no letter") is None
    with pytest.raises(ValueError, match="letter A-E"):
        is_correct_aqua("#### A", "F")
    with pytest.raises(ValueError, match="letter A-E"):
        is_correct_aqua("#### A", "")
