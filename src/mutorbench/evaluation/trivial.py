"""Trivial baselines: what a table cell scores with no model at all.

- Accuracy tasks: the **majority answer** — the training split's most frequent final answer (as the
  task's own scorer extracts it), given as the completion for every evaluation example.
- ROUGE tasks: **lead-k** — the first k lines of the dialogue as the summary.

Both are scored by the task's scorer, so they sit on the same scale as the trained arms. A tiny
table whose arms do not clearly beat these compares nothing.
"""

from __future__ import annotations

from collections import Counter

from mutorbench.evaluation.evaluator import EXTRACTORS, get_scorer
from mutorbench.tasks.summarization import SUMMARY_TEMPLATE

_DIALOGUE_START = SUMMARY_TEMPLATE.split("{dialogue}")[0]
_DIALOGUE_END = SUMMARY_TEMPLATE.split("{dialogue}")[1]


def lead_lines(prompt: str, k: int) -> str:
    if not prompt.startswith(_DIALOGUE_START) or _DIALOGUE_END not in prompt:
        raise ValueError("lead-k needs prompts in the summarization template")
    dialogue = prompt[len(_DIALOGUE_START):prompt.rindex(_DIALOGUE_END)]
    return "\n".join(dialogue.splitlines()[:k])


def majority_completion(task) -> tuple[str, str]:
    """(completion, extracted answer): a training target carrying the most frequent answer."""
    targets = [answer for _, answer in task.texts("train")]
    extracted = [EXTRACTORS[task.metric](t) for t in targets]
    counts = Counter(e for e in extracted if e is not None)
    if not counts:
        raise ValueError(f"task {task.name!r}: no answer could be extracted from the training targets")
    answer = counts.most_common(1)[0][0]
    return targets[extracted.index(answer)], answer


def trivial_baseline(task, split: str = "test", *, lead_k: int = 1) -> dict:
    """``{"name", "rule", "values": {metric: value}}`` of the trivial baseline on ``split``."""
    pairs = task.texts(split)
    references = [answer for _, answer in pairs]
    scorer = get_scorer(task.metric)
    if task.metric == "rouge":
        values, _ = scorer([lead_lines(p, lead_k) for p, _ in pairs], references)
        return {"name": f"lead-{lead_k}", "rule": f"lead-{lead_k}: the first {lead_k} dialogue "
                "line(s)", "values": values}
    completion, answer = majority_completion(task)
    values, _ = scorer([completion] * len(pairs), references)
    return {"name": "majority answer of the training split",
            "rule": f"majority answer of the training split ({answer})", "values": values}
