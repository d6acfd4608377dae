"""Answer checking for the paper's math and multiple-choice tasks.

Rules:
- GSM8K: the completion's *first* ``#### N`` (models trained on GSM8K) or *first* ``\\boxed{N}``
  (models trained on OpenMathInstruct-2, as the paper did); the reference is the dataset's raw
  answer field, whose ``#### N`` gives N. Numbers are compared numerically as exact decimals after
  removing thousands separators, a currency sign, a trailing period and a percent sign, so ``18``,
  ``18.0``, ``18.`` and ``$18`` agree and ``1,234`` equals ``1234``. (The paper's code compared the
  regex capture after deleting commas, which misses ``18.0`` vs ``18`` and ``18.`` at a sentence end.)
- MATH500: the completion's *last* ``\\boxed{...}`` (nested braces kept); equivalence by math-verify
  with our timeout.
- AQUA-RAT: the chosen option letter A–E, from our template's ``#### X`` line, else the last
  "answer is (X)" / "Answer: X" / "Answer X" / "Option X" / "Correct Option: X" / "Ans: X" phrase
  (on the authors' dev/test rationales: 226/254 and 222/254 recognised, none wrongly).
"""

from __future__ import annotations

import re
import threading
from decimal import Decimal, InvalidOperation

MATH_TIMEOUT_S = 5
_HASH_NUMBER = re.compile(r"####\s*\$?\s*(-?[0-9][0-9,]*(?:\.[0-9]*)?|-?\.[0-9]+)")
_BOXED = re.compile(r"\\(?:boxed|fbox)\s*\{")


def final_answer(text: str) -> str | None:
    """The text after the first ``####`` (up to its line end): the generated tasks' answers."""
    if "####" not in text:
        return None
    return text.split("####", 1)[1].strip().split("\n")[0].strip() or None


def parse_nodes(text: str) -> list[str]:
    """Node ids of a star-graph path (strings; empty pieces kept so a stray comma fails a match)."""
    return [piece.strip() for piece in text.strip().split(",")] if text.strip() else []


def parse_number(text: str) -> Decimal | None:
    """A plain number as an exact decimal, or None when ``text`` is not one."""
    s = text.strip().replace(",", "").replace("\\$", "").replace("$", "").strip()
    s = s.removesuffix("\\%").removesuffix("%").rstrip(".").strip()
    if not s or not re.fullmatch(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)", s):
        return None
    try:
        return Decimal(s)
    except InvalidOperation:
        return None


def boxed_contents(text: str) -> list[str]:
    """Contents of every ``\\boxed{...}`` / ``\\fbox{...}`` in order, nested braces balanced."""
    found = []
    for m in _BOXED.finditer(text):
        depth, i = 1, m.end()
        while i < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        if depth == 0:
            found.append(text[m.end():i - 1].strip())
    return found


def extract_hash_number(text: str) -> str | None:
    """The first ``#### N`` capture of a completion, as written (None when absent)."""
    m = _HASH_NUMBER.search(text or "")
    return m.group(1) if m else None


def gsm8k_reference_number(reference_answer: str) -> Decimal:
    """N from a GSM8K answer field ('... #### N'), or a bare number."""
    if not reference_answer or not reference_answer.strip():
        raise ValueError("empty reference answer")
    m = _HASH_NUMBER.search(reference_answer)
    value = parse_number(m.group(1)) if m else parse_number(reference_answer)
    if value is None:
        raise ValueError(f"reference answer has no '#### N' number: {reference_answer[-80:]!r}")
    return value


def is_correct_gsm8k(completion: str, reference_answer: str, answer_format: str = "####") -> bool:
    expected = gsm8k_reference_number(reference_answer)
    if answer_format == "####":
        m = _HASH_NUMBER.search(completion or "")
        got = parse_number(m.group(1)) if m else None
    elif answer_format == "boxed":
        boxes = boxed_contents(completion or "")
        got = parse_number(boxes[0]) if boxes else None
    else:
        raise ValueError(f"unknown answer_format {answer_format!r}; expected '####' or 'boxed'")
    return got is not None and got == expected


def _math_verify(gold: str, pred: str) -> bool:
    from math_verify import parse, verify

    # math-verify's timeouts use SIGALRM, which only works in the main thread.
    t = MATH_TIMEOUT_S if threading.current_thread() is threading.main_thread() else None
    g = parse(f"${gold}$", parsing_timeout=t)
    p = parse(f"${pred}$", parsing_timeout=t)
    if not g or not p:
        return gold.strip() == pred.strip()
    return bool(verify(g, p, timeout_seconds=t))


def is_correct_math(completion: str, reference_answer: str) -> bool:
    if not reference_answer or not reference_answer.strip():
        raise ValueError("empty reference answer")
    ref_boxes = boxed_contents(reference_answer)
    gold = ref_boxes[-1] if ref_boxes else reference_answer.strip()
    boxes = boxed_contents(completion or "")
    if not boxes or not boxes[-1]:
        return False
    pred = boxes[-1]
    if pred.replace(" ", "") == gold.replace(" ", ""):
        return True
    return _math_verify(gold, pred)


_AQUA_HASH = re.compile(r"####\s*\(?([A-Ea-e])\)?(?![A-Za-z])")
# the last "answer is (X)", "Answer : X", "Answer D", "Option B", "Correct Option: C", "Ans: E"
# (capital letter only), unless the letter is being ruled out ("answer choice (A) can never ...")
_AQUA_PHRASE = re.compile(
    r"\b(?:answer|ans|option|choice)s?\b(?:\s*(?:is|should be|will be|would be|=|:|-|–|,))*"
    r"\s*(?:option|choice)?\s*[:\-]?\s*\(?\b((?-i:[A-E]))\b\)?(?![A-Za-z0-9])"
    r"(?!\)?\s*(?:can|cannot|could|must|might|never|is not|isn't)\b)", re.I)


def aqua_choice(completion: str) -> str | None:
    m = _AQUA_HASH.search(completion or "")
    if m:
        return m.group(1).upper()
    phrases = _AQUA_PHRASE.findall(completion or "")
    return phrases[-1].upper() if phrases else None


def is_correct_aqua(completion: str, correct_letter: str) -> bool:
    letter = (correct_letter or "").strip().upper()
    if letter not in ("A", "B", "C", "D", "E"):
        raise ValueError(f"AQUA-RAT correct option must be a letter A-E, got {correct_letter!r}")
    return aqua_choice(completion) == letter
