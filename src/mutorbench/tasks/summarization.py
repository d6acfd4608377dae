"""Dialogue summarization: SAMSum and DialogSum under the paper's template.

Prompt ``"Dialogue:\\n{dialogue}\\n\\nSummary:"``, target ``" " + summary``; metric ROUGE; checkpoint
selection: best validation ROUGE-L (paper). The original ``samsum`` repository is no longer on the
hub; ``knkarthick/samsum`` is a maintained mirror with the same splits (14,732/818/819).
"""

from __future__ import annotations

from mutorbench.tasks.hf import HFTask

SUMMARY_TEMPLATE = "Dialogue:\n{dialogue}\n\nSummary:"


class _Summarization(HFTask):
    metric = "rouge"
    dataset_id = ""

    def pair(self, row, split):
        return SUMMARY_TEMPLATE.format(dialogue=row["dialogue"]), " " + row["summary"].strip()


class SAMSumTask(_Summarization):
    name = "samsum"
    split_sources = {s: ("knkarthick/samsum", None, s) for s in ("train", "validation", "test")}


class DialogSumTask(_Summarization):
    name = "dialogsum"
    split_sources = {s: ("knkarthick/dialogsum", None, s) for s in ("train", "validation", "test")}
