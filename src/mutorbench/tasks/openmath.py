"""OpenMathInstruct-2 training splits built as the paper did (`nvidia/OpenMathInstruct-2`).

- 1M-GSM: ``train_1M`` rows with problem_source in {augmented_gsm8k, gsm8k} (~152K).
- 2M-GSM: the same filter on ``train_2M`` (~277K).
- 1M-MATH: ``train_1M`` rows with problem_source in {augmented_math, math}, ``shuffle(seed=0)``,
  first 200,000.

Columns ``problem -> question`` and ``generated_solution -> answer`` under the math template.
GSM variants are tested on GSM8K's test split with the first ``\\boxed{}`` of the completion (the
paper's rule for models trained on this data); 1M-MATH on MATH500 with the last ``\\boxed{}``.
"""

from __future__ import annotations

from mutorbench.registry import TASKS
from mutorbench.tasks.gsm8k import math_prompt
from mutorbench.tasks.hf import HFTask

DATASET_ID = "nvidia/OpenMathInstruct-2"
GSM_SOURCES = ("augmented_gsm8k", "gsm8k")
MATH_SOURCES = ("augmented_math", "math")
MATH_SUBSET = 200_000


class OpenMathTask(HFTask):
    sources_kept: tuple[str, ...] = GSM_SOURCES
    subset: int | None = None

    def prepare(self, ds, split):
        if split != "train":
            return ds
        ds = ds.filter(lambda src: src in self.sources_kept, input_columns="problem_source")
        if self.subset is not None:
            ds = ds.shuffle(seed=0).select(range(min(self.subset, len(ds))))
        return ds

    def pair(self, row, split):
        if split == "train":
            return math_prompt(row["problem"]), " " + row["generated_solution"]
        if "question" in row:  # GSM8K test: the reference is the raw '#### N' answer
            return math_prompt(row["question"]), " " + row["answer"]
        return math_prompt(row["problem"]), row["answer"]  # MATH500: the final answer


@TASKS.register
class OneMGSM(OpenMathTask):
    name, metric = "1m-gsm", "gsm8k_boxed"
    max_new_tokens = 512
    split_sources = {"train": (DATASET_ID, None, "train_1M"), "test": ("openai/gsm8k", "main", "test")}


@TASKS.register
class TwoMGSM(OpenMathTask):
    name, metric = "2m-gsm", "gsm8k_boxed"
    max_new_tokens = 512
    split_sources = {"train": (DATASET_ID, None, "train_2M"), "test": ("openai/gsm8k", "main", "test")}


@TASKS.register
class OneMMATH(OpenMathTask):
    name, metric = "1m-math", "math"
    max_new_tokens = 748
    sources_kept, subset = MATH_SOURCES, MATH_SUBSET
    split_sources = {"train": (DATASET_ID, None, "train_1M"),
                     "test": ("HuggingFaceH4/MATH-500", None, "test")}
