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


class _Summarization(HFTask):
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
