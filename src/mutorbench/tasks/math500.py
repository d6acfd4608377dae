"""MATH500 (`HuggingFaceH4/MATH-500`): the 500 PRM800K test problems (prm800k math_splits/test.jsonl).

Evaluation only: prompt ``"Question: {problem}\\n\\nAnswer:"``, reference = the ``answer`` field,
checked against the completion's last ``\\boxed{}`` with math-verify.
"""

from __future__ import annotations

from mutorbench.registry import TASKS
from mutorbench.tasks.gsm8k import math_prompt
from mutorbench.tasks.hf import HFTask


@TASKS.register
class MATH500Task(HFTask):
    name, metric = "math500", "math"
    max_new_tokens = 748  # the paper's generation length for MATH500
    split_sources = {"test": ("HuggingFaceH4/MATH-500", None, "test")}

    def pair(self, row, split):
        return math_prompt(row["problem"]), row["answer"]
