"""GSM8K (`openai/gsm8k`, config `main`): the paper's math template; the answer is the full solution.

Prompt ``"Question: {question}\\n\\nAnswer:"``, target ``" " + answer`` (+ EOS, added at
tokenization), metric: first ``#### N`` of the completion against the reference's ``#### N``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mutorbench.tasks.hf import load_split

DATASET_ID = "openai/gsm8k"
CONFIG = "main"
# Pinned dataset revision: recorded in results; None follows the hub's main branch.
REVISION = None


def math_prompt(question: str) -> str:
    return f"Question: {question}\n\nAnswer:"


@dataclass
class GSM8KTask:
    local_path: str | None = None
    revision: str | None = REVISION
    name: str = "gsm8k"
    metric: str = "gsm8k"
    _splits: dict = field(default_factory=dict, repr=False)

    def sources(self) -> dict:
        return {"dataset": DATASET_ID, "config": CONFIG, "revision": self.revision,
                "local_path": self.local_path}

    def texts(self, split: str) -> list[tuple[str, str]]:
        if split not in self._splits:
            ds = load_split(DATASET_ID, split, config=CONFIG, revision=self.revision,
                            local_path=self.local_path)
            missing = {"question", "answer"} - set(ds.column_names)
            if missing:
                raise ValueError(f"GSM8K {split}: missing columns {sorted(missing)}")
            self._splits[split] = [(math_prompt(q), " " + a)
                                   for q, a in zip(ds["question"], ds["answer"])]
        return self._splits[split]

    def tokenizer_corpus(self) -> list[str]:
        return [p + a for p, a in self.texts("train")]
