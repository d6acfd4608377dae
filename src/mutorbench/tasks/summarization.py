"""Dialogue summarization: SAMSum and DialogSum under the paper's template.

Prompt ``"Dialogue:\\n{dialogue}\\n\\nSummary:"``, target ``" " + summary``; metric ROUGE; checkpoint
selection: best validation ROUGE-L (paper). The original ``samsum`` repository is no longer on the
hub; ``knkarthick/samsum`` is a maintained mirror with the same splits (14,732/818/819).
"""

from __future__ import annotations

import re

from mutorbench.registry import TASKS
from mutorbench.tasks.hf import HFTask

SUMMARY_TEMPLATE = "Dialogue:\n{dialogue}\n\nSummary:"
_DIALOGUE_START, _DIALOGUE_END = SUMMARY_TEMPLATE.split("{dialogue}")


def lead_lines(prompt: str, k: int) -> str:
    """The first ``k`` lines of the dialogue in a prompt of the summarization template."""
    if not prompt.startswith(_DIALOGUE_START) or _DIALOGUE_END not in prompt:
        raise ValueError("lead-k needs prompts in the summarization template")
    dialogue = prompt[len(_DIALOGUE_START):prompt.rindex(_DIALOGUE_END)]
    return "\n".join(dialogue.splitlines()[:k])


class LeadBaseline:
    """Summaries' trivial baseline: lead-k, the first k dialogue lines as the summary."""
    lead_k = 1

    def trivial_completions(self, split: str) -> dict:
        k = self.lead_k
        return {"name": f"lead-{k}", "rule": f"lead-{k}: the first {k} dialogue line(s)",
                "completions": [lead_lines(p, k) for p, _ in self.texts(split)]}


class _Summarization(LeadBaseline, HFTask):
    metric = "rouge"
    max_new_tokens = 128  # not stated by the paper; a summary is 20-60 words
    dataset_id = ""

    def pair(self, row, split):
        return SUMMARY_TEMPLATE.format(dialogue=row["dialogue"]), " " + row["summary"].strip()


@TASKS.register
class SAMSumTask(_Summarization):
    name = "samsum"
    split_sources = {s: ("knkarthick/samsum", None, s) for s in ("train", "validation", "test")}


@TASKS.register
class DialogSumTask(_Summarization):
    """The authors' repository (cylnlp/dialogsum) names its files ``dialogsum.{train,dev,test}.jsonl``
    and gives each test dialogue three references (``summary1..3``); the hub's copy has one row per
    reference (1,500 test rows). Read from the authors' files, a test dialogue becomes three rows,
    one per reference (dialogue-major), as on the hub."""
    name = "dialogsum"
    split_sources = {s: ("knkarthick/dialogsum", None, s) for s in ("train", "validation", "test")}
    published_names = {"train": ("dialogsum.train.jsonl",), "validation": ("dialogsum.dev.jsonl",),
                       "test": ("dialogsum.test.jsonl",)}

    def prepare(self, ds, split):
        columns = set(ds.column_names)
        if "summary" in columns or "summary1" not in columns:
            return ds
        import datasets

        refs = sorted((c for c in columns if re.fullmatch(r"summary\d+", c)), key=lambda c: int(c[7:]))
        return datasets.Dataset.from_list([
            {"dialogue": row["dialogue"], "summary": row[c]}
            for row in ds for c in refs if row.get(c) is not None])
