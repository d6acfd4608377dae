"""GSM8K (`openai/gsm8k`, config `main`): the paper's math template; the answer is the full solution.

Prompt ``"Question: {question}\\n\\nAnswer:"``, target ``" " + answer`` (+ EOS, added at
tokenization), metric: first ``#### N`` of the completion against the reference's ``#### N``.
"""

from __future__ import annotations

from mutorbench.registry import TASKS
from mutorbench.tasks.hf import HFTask

DATASET_ID = "openai/gsm8k"
CONFIG = "main"
# Pinned dataset revision: recorded in results; None follows the hub's main branch.
REVISION = None


def math_prompt(question: str) -> str:
    return f"Question: {question}\n\nAnswer:"


@TASKS.register
class GSM8KTask(HFTask):
    name, metric = "gsm8k", "gsm8k"
    max_new_tokens = 512  # the paper's generation length for GSM8K
    split_sources = {s: (DATASET_ID, CONFIG, s) for s in ("train", "test")}

    def __init__(self, local_path: str | None = None, revision: str | None = REVISION,
                 files: dict[str, str] | None = None):
        super().__init__(local_path=local_path, revision=revision, files=files)

    def sources(self) -> dict:
        out = {"dataset": DATASET_ID, "config": CONFIG, "revision": self.revision,
               "local_path": self.local_path}
        return out | ({"files": self.files} if self.files else {})

    def pair(self, row, split):
        return math_prompt(row["question"]), " " + row["answer"]
