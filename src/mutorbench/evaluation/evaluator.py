"""Generation-based evaluation: greedy completions of a split, scored by a task's scorer."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from mutorbench.evaluation.answers import is_correct_aqua, is_correct_gsm8k, is_correct_math
from mutorbench.evaluation.generation import greedy_generate
from mutorbench.evaluation.rouge import compute_rouge

Scorer = Callable[[list[str], list[str]], dict]


def _final_answers_match(completion: str, reference: str) -> bool:
    from mutorbench.tasks.arith import final_answer

    got = final_answer(completion)
    return got is not None and got == final_answer(reference)


def accuracy_scorer(check: Callable[[str, str], bool]) -> Scorer:
    def score(completions: list[str], references: list[str]) -> dict:
        correct = sum(bool(check(c, r)) for c, r in zip(completions, references))
        return {"accuracy": 100.0 * correct / len(references)}
    return score


def rouge_scorer(completions: list[str], references: list[str]) -> dict:
    return compute_rouge([c.strip() for c in completions], [r.strip() for r in references])


SCORERS: dict[str, Scorer] = {
    "gsm8k": accuracy_scorer(lambda c, r: is_correct_gsm8k(c, r, answer_format="####")),
    "gsm8k_boxed": accuracy_scorer(lambda c, r: is_correct_gsm8k(c, r, answer_format="boxed")),
    "math": accuracy_scorer(is_correct_math),
    "aqua": accuracy_scorer(lambda c, r: is_correct_aqua(c, r.strip().split("####")[-1])),
    "exact": accuracy_scorer(lambda c, r: c.strip() == r.strip()),
    "arith": accuracy_scorer(_final_answers_match),
    "rouge": rouge_scorer,
}


def get_scorer(name: str) -> Scorer:
    if name not in SCORERS:
        raise ValueError(f"unknown metric {name!r}; expected one of {', '.join(SCORERS)}")
    return SCORERS[name]


@dataclass
class GenerationEvaluator:
    task: object  # a Task: texts(split) gives (prompt, reference answer) pairs
    score: Scorer
    max_new_tokens: int = 40
    batch_size: int = 32
    prefix_attention: str = "bidirectional"

    def __call__(self, model, tokenizer, split: str, *, suppress_ids: Sequence[int] = ()) -> dict:
        pairs = self.task.texts(split)
        prompts = [tokenizer(p)["input_ids"] for p, _ in pairs]
        completions: list[str] = []
        for s in range(0, len(prompts), self.batch_size):
            outs = greedy_generate(model, prompts[s:s + self.batch_size],
                                   max_new_tokens=self.max_new_tokens,
                                   eos_id=tokenizer.eos_token_id, pad_id=tokenizer.pad_token_id,
                                   prefix_attention=self.prefix_attention,
                                   suppress_ids=suppress_ids)
            completions += [tokenizer.decode(o, skip_special_tokens=True) for o in outs]
        return self.score(completions, [a for _, a in pairs])
