"""AQUA-RAT (`deepmind/aqua_rat`, config `raw`): five-option algebra word problems.

The paper gives no template; ours (recorded in results) follows its math template with the options:
prompt ``"Question: {question}\\nOptions: A) .. B) ..\\n\\nAnswer:"``, target
``" {rationale}\\n#### {correct}"``. The metric reads the chosen letter (``#### X`` first).
Checkpoint selection: best validation accuracy (paper).
"""

from __future__ import annotations

from mutorbench.registry import TASKS
from mutorbench.tasks.hf import HFTask

DATASET_ID = "deepmind/aqua_rat"
TEMPLATE = "Question: {question}\nOptions: {options}\n\nAnswer:"


@TASKS.register
class AquaTask(HFTask):
    name, metric = "aqua", "aqua"
    max_new_tokens = 512  # not stated by the paper: its math length
    split_sources = {s: (DATASET_ID, "raw", s) for s in ("train", "validation", "test")}
    published_names = {"validation": ("dev.json",)}  # google-deepmind/AQuA's own names

    def pair(self, row, split):
        prompt = TEMPLATE.format(question=row["question"].strip(), options=" ".join(row["options"]))
        return prompt, f" {row['rationale'].strip()}\n#### {row['correct'].strip()}"
