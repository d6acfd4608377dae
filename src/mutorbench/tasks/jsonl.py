"""A custom task from JSONL files: ``{split}.jsonl`` with ``prompt`` and ``answer`` fields.

The prompt is used as written (bring your own template); the answer is the training target and the
evaluation reference, scored by the configured metric (``exact``, ``gsm8k``, ``math``, ``aqua``,
``rouge``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from mutorbench.fsio import read_text
from mutorbench.registry import TASKS
from mutorbench.tasks.base import FilesConfig, TaskBase


@TASKS.register
@dataclass
class JsonlTask(TaskBase):
    Config = FilesConfig
    local_path: str | None = None
    files: dict = field(default_factory=dict)  # split -> explicit file (wins over local_path)
    metric: str = "exact"
    name: str = "jsonl"
    _cache: dict = field(default_factory=dict, repr=False)
    max_new_tokens = 256

    @classmethod
    def from_config(cls, cfg):
        return cls(local_path=cfg.local_path, files=dict(cfg.files or {}))

    def sources(self) -> dict:
        out = {"local_path": self.local_path, "format": "jsonl {prompt, answer}"}
        return out | ({"files": self.files} if self.files else {})

    def texts(self, split: str) -> list[tuple[str, str]]:
        if split in self._cache:
            return self._cache[split]
        if split in self.files:
            path = Path(self.files[split])
        elif not self.local_path:
            raise ValueError("task jsonl needs task.local_path: a folder with train.jsonl/test.jsonl "
                             f"(or task.files.{split}: a file)")
        else:
            path = Path(self.local_path) / f"{split}.jsonl"
        if not path.is_file():
            raise ValueError(f"task jsonl: {path} " + ("is not a file" if path.exists()
                                                       else "not found"))
        pairs = []
        for n, line in enumerate(read_text(path, "data file").splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise ValueError(f"{path}:{n}: not valid JSON ({err.msg})") from None
            if not isinstance(row, dict) or not isinstance(row.get("prompt"), str) \
                    or not isinstance(row.get("answer"), str):
                raise ValueError(f"{path}:{n}: needs string fields 'prompt' and 'answer'")
            if not row["answer"].strip():
                raise ValueError(f"{path}:{n}: empty answer")
            pairs.append((row["prompt"], row["answer"]))
        if not pairs:
            raise ValueError(f"{path}: no examples")
        self._cache[split] = pairs
        return pairs
