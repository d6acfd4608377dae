"""OpenMathInstruct-2 training splits built as the paper did (`nvidia/OpenMathInstruct-2`).

- 1M-GSM: ``train_1M`` rows with problem_source in {augmented_gsm8k, gsm8k} (~152K).
- 2M-GSM: the same filter on ``train_2M`` (~277K).
- 1M-GSM-extra (Table 3): 1M-GSM plus 0.4x as many 2M-GSM examples that are not in 1M-GSM.
- 1M-MATH: ``train_1M`` rows with problem_source in {augmented_math, math}, ``shuffle(seed=0)``,
  first 200,000.

Columns ``problem -> question`` and ``generated_solution -> answer`` under the math template.
GSM variants are tested on GSM8K's test split with the first ``\\boxed{}`` of the completion (the
paper's rule for models trained on this data); 1M-MATH on MATH500 with the last ``\\boxed{}``.
"""

from __future__ import annotations

import random

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


@TASKS.register
class OneMGSMExtra(OneMGSM):
    """Table 3's data-matched Next-Token arm: "1M-GSM plus samples from 2M-GSM, about 1.4x the
    samples" (App. B.1; the paper does not say how they were drawn). Our rule: every 1M-GSM
    example in its order, then 2M-GSM's grade-school examples that are not in 1M-GSM (same prompt
    and solution), shuffled by ``random.Random(0)``, the first ``round(0.4 * len(1M-GSM))``."""

    name = "1m-gsm-extra"
    extra_fraction = 0.4
    extra_sources = {"train_2m": (DATASET_ID, None, "train_2M")}

    def sources(self) -> dict:
        return super().sources() | {"extra_rule": f"1M-GSM + {self.extra_fraction:g} x its size "
                                    "from 2M-GSM minus 1M-GSM, random.Random(0) shuffle"}

    def texts(self, split):
        if split != "train" or split in self._cache:
            return super().texts(split)
        base = super().texts("train")
        seen = set(base)
        pool = sorted({p for p in self.source_pairs("train_2m", self.extra_sources["train_2m"],
                                                   "train") if p not in seen})
        random.Random(0).shuffle(pool)
        wanted = round(self.extra_fraction * len(base))
        if len(pool) < wanted:
            raise ValueError(f"task {self.name!r}: 2M-GSM has {len(pool)} examples that are not "
                             f"in 1M-GSM; the rule needs {wanted}")
        self._cache["train"] = base + pool[:wanted]
        return self._cache["train"]
