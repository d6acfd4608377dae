"""Generation-based evaluation: greedy completions of a split, scored by a task's scorer.

Evaluators are registered (``EVALUATORS``); a task names its own (``TaskBase.evaluator``). An
evaluator declares the value keys it produces and whether it is expensive: a cheap one runs at
every epoch end and ``eval.every_steps``, an expensive one (FID over sampled images) only at
``eval.at_steps`` and the last step.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from mutorbench.evaluation.answers import (
    aqua_choice,
    boxed_contents,
    extract_hash_number,
    final_answer,
    is_correct_aqua,
    is_correct_gsm8k,
    is_correct_math,
    parse_nodes,
)
from mutorbench.evaluation.generation import greedy_generate
from mutorbench.evaluation.rouge import compute_rouge
from mutorbench.models.adapters import adapter_for
from mutorbench.registry import EVALUATORS, TASKS

# A scorer returns the split's metrics and one record per example (the extracted answer and its
# verdict, or per-example scores) so that metrics can be recomputed from the logged generations.
Scorer = Callable[[list[str], list[str]], tuple[dict, list[dict]]]


def _final_answers_match(completion: str, reference: str) -> bool:
    got = final_answer(completion)
    return got is not None and got == final_answer(reference)


def accuracy_scorer(check: Callable[[str, str], bool], extract: Callable[[str], object]) -> Scorer:
    def score(completions: list[str], references: list[str]):
        details = [{"extracted": extract(c), "correct": bool(check(c, r))}
                   for c, r in zip(completions, references)]
        correct = sum(d["correct"] for d in details)
        return {"accuracy": 100.0 * correct / len(references)}, details
    return score


def rouge_scorer(completions: list[str], references: list[str]):
    preds, refs = [c.strip() for c in completions], [r.strip() for r in references]
    details = [compute_rouge([p], [r]) for p, r in zip(preds, refs)]
    return compute_rouge(preds, refs), details


def _first_box(text: str) -> str | None:
    boxes = boxed_contents(text)
    return boxes[0] if boxes else None


def _last_box(text: str) -> str | None:
    boxes = boxed_contents(text)
    return boxes[-1] if boxes else None


def star_path_scorer(completions: list[str], references: list[str]):
    """Star graph: ``solve_rate`` (the whole path) and ``decisive_accuracy`` (the node after the
    source, where next-token training sits at chance, 1/degree), both exact, in percent."""
    details = []
    for c, r in zip(completions, references):
        got, ref = parse_nodes(c), parse_nodes(r)
        details.append({"extracted": ",".join(got), "correct": got == ref,
                        "decisive_correct": len(got) > 1 and got[1] == ref[1]})
    n = len(references)
    return ({"solve_rate": 100.0 * sum(d["correct"] for d in details) / n,
             "decisive_accuracy": 100.0 * sum(d["decisive_correct"] for d in details) / n},
            details)


# What each accuracy metric reads from a completion (also used by the trivial baselines).
EXTRACTORS: dict[str, Callable[[str], object]] = {
    "gsm8k": extract_hash_number, "gsm8k_boxed": _first_box, "math": _last_box,
    "aqua": aqua_choice, "exact": str.strip, "arith": final_answer,
}

SCORERS: dict[str, Scorer] = {
    "gsm8k": accuracy_scorer(lambda c, r: is_correct_gsm8k(c, r, answer_format="####"),
                             EXTRACTORS["gsm8k"]),
    "gsm8k_boxed": accuracy_scorer(lambda c, r: is_correct_gsm8k(c, r, answer_format="boxed"),
                                   EXTRACTORS["gsm8k_boxed"]),
    "math": accuracy_scorer(is_correct_math, EXTRACTORS["math"]),
    "aqua": accuracy_scorer(lambda c, r: is_correct_aqua(c, r.strip().split("####")[-1]),
                            EXTRACTORS["aqua"]),
    "exact": accuracy_scorer(lambda c, r: c.strip() == r.strip(), EXTRACTORS["exact"]),
    "arith": accuracy_scorer(_final_answers_match, EXTRACTORS["arith"]),
    "rouge": rouge_scorer,
    "star_path": star_path_scorer,
}


# The value keys each scorer produces: eval.metric must be one of them (checked before any work);
# the first is the default selection metric (the paper's: ROUGE-L for summaries).
SCORER_KEYS: dict[str, tuple[str, ...]] = {
    **{name: ("accuracy",) for name in ("gsm8k", "gsm8k_boxed", "math", "aqua", "exact", "arith")},
    "rouge": ("rougeL", "rouge1", "rouge2", "rougeLsum"),
    "star_path": ("solve_rate", "decisive_accuracy"),
}


def get_scorer(name: str) -> Scorer:
    if name not in SCORERS:
        raise ValueError(f"unknown metric {name!r}; expected one of {', '.join(SCORERS)}")
    return SCORERS[name]


@EVALUATORS.register
@dataclass
class GenerationEvaluator:
    """Greedy (or the method's own) completions of a split, scored by the task's scorer."""
    name: ClassVar[str] = "generation"
    expensive: ClassVar[bool] = False  # a split of generations: every epoch end is affordable

    task: object  # a Task: texts(split) gives (prompt, reference answer) pairs
    score: Scorer
    max_new_tokens: int = 40
    batch_size: int = 32
    prefix_attention: str = "bidirectional"
    keys: tuple[str, ...] = ()  # the value keys it produces
    limit: int | None = None  # score only the first N examples of a split
    teacher_forced: bool = False  # also the per-token (teacher-forced) accuracy: star graphs

    def __post_init__(self):
        self._prompts: dict[str, list[list[int]]] = {}

    @classmethod
    def from_config(cls, task, eval_cfg, *, prefix_attention: str,
                    seed: int = 0) -> GenerationEvaluator:
        return cls(task, get_scorer(task.metric), max_new_tokens=eval_cfg.max_new_tokens,
                   batch_size=eval_cfg.batch_size, prefix_attention=prefix_attention,
                   keys=cls.value_keys(task.metric, teacher_forced=task.teacher_forced,
                                       probes=task.probe_names),
                   limit=eval_cfg.limit, teacher_forced=task.teacher_forced)

    @classmethod
    def value_keys(cls, metric: str, *, teacher_forced: bool,
                   probes: Sequence[str] = ()) -> tuple[str, ...]:
        """What it produces for a task scored by ``metric`` (an unknown scorer: one line);
        the register probes only for a method that has registers."""
        get_scorer(metric)
        return (SCORER_KEYS[metric] + (("token_accuracy",) if teacher_forced else ())
                + tuple(f"register_{name}_accuracy" for name in probes))

    def pairs(self, split: str) -> list[tuple[str, str]]:
        pairs = self.task.texts(split)
        return pairs[:self.limit] if self.limit else pairs

    def prepare(self, tokenizer, split: str, *, max_positions: int | None) -> list[list[int]]:
        """Tokenize a split's prompts once and check, before any training step, that every prompt
        plus ``max_new_tokens`` fits the model's positions (one error naming the longest)."""
        if split not in self._prompts:
            pairs = self.pairs(split)
            if not pairs:
                raise ValueError(f"task {self.task.name!r}, split {split!r}: no example to score")
            prompts = self.task.encode_prompts(tokenizer, [p for p, _ in pairs])
            longest = max(range(len(prompts)), key=lambda i: len(prompts[i]))
            need = len(prompts[longest]) + self.max_new_tokens
            if max_positions is not None and need > max_positions:
                raise ValueError(
                    f"task {self.task.name!r}, split {split!r}: example {longest} has a "
                    f"{len(prompts[longest])}-token prompt; with eval.max_new_tokens="
                    f"{self.max_new_tokens} it needs {need} positions, the model has "
                    f"{max_positions} (lower eval.max_new_tokens or use eval.limit)")
            self._prompts[split] = prompts
        return self._prompts[split]

    def __call__(self, model, tokenizer, split: str, *, suppress_ids: Sequence[int] = (),
                 log_path: str | Path | None = None, decode: Callable | None = None,
                 scoring_inputs: Callable | None = None, probe: Callable | None = None) -> dict:
        """Metrics of ``split``; with ``log_path``, one JSONL line per example is written there.

        ``decode``: a method's own decoding (teacherless: parallel); default greedy, cached.
        ``scoring_inputs``: a method's own inputs for the per-token accuracy (teacherless: dummy
        answer inputs); default next-token's, i.e. teacher forcing.
        ``probe``: a method's register probe (MuToR), scored at the task's ``probe_targets``.
        """
        decode = decode or greedy_generate
        pairs = self.pairs(split)
        max_positions = adapter_for(model).max_positions(model)
        prompts = self.prepare(tokenizer, split, max_positions=max_positions)
        completions: list[str] = []
        fixed = self.task.fixed_answer_tokens  # answers without EOS stop at their length
        max_new = self.max_new_tokens if fixed is None else min(self.max_new_tokens, fixed)
        for s in range(0, len(prompts), self.batch_size):
            outs = decode(model, prompts[s:s + self.batch_size],
                          max_new_tokens=max_new,
                          eos_id=tokenizer.eos_token_id, pad_id=tokenizer.pad_token_id,
                          prefix_attention=self.prefix_attention,
                          suppress_ids=suppress_ids)
            completions += [tokenizer.decode(o, skip_special_tokens=True) for o in outs]
        references = [a for _, a in pairs]
        metrics, details = self.score(completions, references)
        scoring = (self.task.scoring_examples(tokenizer, pairs)
                   if self.teacher_forced or (probe and self.task.probe_targets) else None)
        if self.teacher_forced:  # star graph: also teacher-forced accuracy
            from mutorbench.evaluation.teacher_forced import token_accuracies

            per_example = token_accuracies(model, tokenizer, scoring,
                                           drop_eos=self.task.answer_eos,
                                           batch_size=self.batch_size,
                                           prefix_attention=self.prefix_attention,
                                           build_inputs=scoring_inputs)
            metrics["token_accuracy"] = sum(per_example) / len(per_example)
            details = [d | {"token_accuracy": t} for d, t in zip(details, per_example)]
        if probe is not None and self.task.probe_targets:
            hits = probe(model, scoring, self.task.probe_targets, pad_id=tokenizer.pad_token_id,
                         prefix_attention=self.prefix_attention, batch_size=self.batch_size)
            for name, h in hits.items():
                metrics[f"register_{name}_accuracy"] = 100.0 * sum(h) / len(h)
                details = [d | {f"register_{name}_correct": x} for d, x in zip(details, h)]
        if log_path is not None:
            from mutorbench.fsio import atomic_write_text

            atomic_write_text(log_path, "".join(
                json.dumps({"index": i, "prompt": prompt, "completion": comp, "reference": ref,
                            **det}) + "\n"
                for i, ((prompt, ref), comp, det) in enumerate(zip(pairs, completions, details))))
        return metrics


def build_evaluator(task, eval_cfg, prefix_attention: str, *, seed: int = 0):
    """The evaluator the task names, built for this run's eval section (``seed``: the run's, for
    an evaluator that samples)."""
    return EVALUATORS.get(task.evaluator).from_config(task, eval_cfg,
                                                      prefix_attention=prefix_attention,
                                                      seed=seed)


def metric_keys(task) -> tuple[str, ...]:
    """The value keys a (built) task's evaluator produces."""
    return EVALUATORS.get(task.evaluator).value_keys(task.metric,
                                                     teacher_forced=task.teacher_forced,
                                                     probes=task.probe_names)


def metric_keys_of_config(task_cfg) -> tuple[str, ...]:
    """The same from a task config alone (no data loaded): for checking configs and specs."""
    cls = TASKS.get(task_cfg.name)
    return EVALUATORS.get(cls.evaluator).value_keys(task_cfg.metric or cls.metric,
                                                    teacher_forced=cls.teacher_forced,
                                                    probes=cls.probe_names)


def check_metric(name: str, keys: Sequence[str], task_name: str) -> None:
    if name not in keys:
        raise ValueError(f"eval.metric {name!r} is not a value task {task_name!r} produces; "
                         f"valid: {', '.join(keys)}")
