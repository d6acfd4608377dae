"""Turning a task's (prompt, answer) texts into examples: tokenization, length filter, hashing."""

from __future__ import annotations

import hashlib
from collections import Counter

import numpy as np

from mutorbench.configbase import PositiveInt, Strict
from mutorbench.evaluation.evaluator import EXTRACTORS
from mutorbench.examples import Example, tokenize_examples


class TaskConfig(Strict):
    """What every task section has. A task's own ``Config`` adds what it reads (example counts
    for generated data, files and revisions for a real dataset ...); the run config's ``task``
    section is the union of them, chosen by ``name``, so a key the task would ignore is an error."""
    name: str = "arith"
    max_length: PositiveInt = 512  # register-free prompt + answer tokens; longer examples dropped
    metric: str | None = None  # override the task's scorer (evaluation/evaluator.py SCORERS)

    def check_run(self, run) -> None:
        """Refuse a run whose other sections this task cannot work with (one ValueError);
        nothing to check by default."""


class FilesConfig(TaskConfig):
    """A task read from files: a folder, or one explicit file per split."""
    local_path: str | None = None  # a local copy of the dataset (no hub access needed)
    files: dict[str, str] | None = None  # split -> path, instead of finding it under local_path


class TaskBase:
    """What every task has, with defaults: the optional members of the Task protocol.

    A task subclasses this, sets ``name`` (what ``task.name`` selects), builds itself from the
    task config section in ``from_config`` and registers with ``@TASKS.register``.
    """

    Config: type[TaskConfig] = TaskConfig  # the task's config section (what from_config reads)
    name: str = ""
    metric: str = "exact"  # the scorer (evaluation/evaluator.py); task.metric overrides it
    max_new_tokens = 40  # generation length when eval.max_new_tokens is not set
    teacher_forced = False  # the evaluator adds teacher-forced token accuracy (star graphs)
    evaluator = "generation"  # the registered evaluator that scores it (EVALUATORS)
    answer_eos = True  # the answer ends with EOS; False for fixed-length outputs (code grids)
    fixed_answer_tokens: int | None = None  # without EOS: generation stops after this many
    # names of answer tokens whose registers the evaluator probes (star graph: the decisive
    # node); ``probe_targets`` maps each to its answer index, and register_<name>_accuracy
    # must be a registered metric (metrics.py)
    probe_names: tuple[str, ...] = ()

    @property
    def probe_targets(self) -> dict[str, int]:
        return {}

    @classmethod
    def from_config(cls, cfg):
        raise NotImplementedError(f"{cls.__qualname__}.from_config")

    views_per_access = False  # True: the loop asks ``view`` for every training access
    generates_images = False  # an image task: eval.images configures its sampling and scoring
    # its no-model image references (trivial_images) score offline: the digits, not ImageNet
    trivial_images_offline = False

    def view(self, examples, *, seed: int, epoch: int, choices=None):
        """The training examples as one access sees them; as they are by default (an image
        task applies its augmentation and guidance label drop here; ``choices``: those
        ``view_choices`` already drew for these examples)."""
        return list(examples)

    def view_choices(self, examples, *, seed: int, epoch: int) -> list:
        """What ``view`` chose for each example (chained into the run's order hash)."""
        return []

    def code_vocabulary(self):
        """The vocabulary of a task whose data are codes (images); None for a text task."""
        return None

    def split_hash(self, split: str) -> str:
        """What a run read of ``split``: the texts' hash (a code-grid task hashes its codes)."""
        return texts_hash(self.texts(split))

    def vocabulary(self) -> list[str] | None:
        """A fixed vocabulary (the numeral tokenizer's words); None for free text."""
        return None

    def tokenizer_corpus(self) -> list[str]:
        """Text a tiny-scale tokenizer is trained on: the training split."""
        return [p + a for p, a in self.texts("train")]

    def encode_prompts(self, tokenizer, prompts: list[str]) -> list[list[int]]:
        """Prompt ids as generation sees them (the same as the training examples' prompts)."""
        return tokenizer(list(prompts))["input_ids"]

    def scoring_examples(self, tokenizer, pairs) -> list[Example]:
        """(prompt, answer) pairs as token-level examples, unfiltered (teacher-forced scoring)."""
        return tokenize_examples(tokenizer, pairs, eos=self.answer_eos)

    def examples(self, split: str, tokenizer, max_length: int) -> tuple[list[Example], dict]:
        """Token-level examples of a split (and counts): text tasks tokenize their texts; a task
        whose data are tokens already (image codes) overrides this."""
        return tokenize_split(self, split, tokenizer, max_length, eos=self.answer_eos)

    def trivial_completions(self, split: str) -> dict:
        """A baseline with no model: one completion per example of ``split``, and its rule. By
        default the training split's most frequent final answer (summaries: lead-k)."""
        completion, answer = majority_completion(self)
        return {"name": "majority answer of the training split",
                "rule": f"majority answer of the training split ({answer})",
                "completions": [completion] * len(self.texts(split))}


def majority_completion(task) -> tuple[str, str]:
    """(completion, extracted answer): a training target carrying the most frequent answer."""
    targets = [answer for _, answer in task.texts("train")]
    extracted = [EXTRACTORS[task.metric](t) for t in targets]
    counts = Counter(e for e in extracted if e is not None)
    if not counts:
        raise ValueError(f"task {task.name!r}: no answer could be extracted from the training "
                         "targets")
    answer = counts.most_common(1)[0][0]
    return targets[extracted.index(answer)], answer


def tokenize_split(task, split: str, tokenizer, max_length: int, *,
                   eos: bool = True) -> tuple[list[Example], dict]:
    """Examples of ``split`` whose register-free length fits ``max_length``, and the counts.

    The filter applies once, on prompt + answer tokens (registers are added later and never count),
    and example indices are positions in the unfiltered split, so they stay stable.
    """
    texts = task.texts(split)
    kept, dropped = [], 0
    for ex in tokenize_examples(tokenizer, texts, eos=eos):
        if len(ex.prompt_ids) + len(ex.answer_ids) > max_length:
            dropped += 1
            continue
        kept.append(ex)
    if not kept:
        raise ValueError(f"task {task.name!r}, split {split!r}: no example fits max_length={max_length}")
    # Dense indices 0..n-1 for the sampler; the split position stays in the metadata.
    examples = [Example(e.prompt_ids, e.answer_ids, k, {"split_index": e.index})
                for k, e in enumerate(kept)]
    return examples, {"split": split, "total": len(texts), "kept": len(kept), "dropped_too_long": dropped}


def content_hash(examples: list[Example]) -> str:
    """sha256 over the token ids of every example, in split order."""
    h = hashlib.sha256()
    for e in examples:
        h.update(np.asarray(e.prompt_ids, dtype=np.int64).tobytes())
        h.update(b"|")
        h.update(np.asarray(e.answer_ids, dtype=np.int64).tobytes())
        h.update(b"#")
    return h.hexdigest()


def texts_hash(pairs: list[tuple[str, str]]) -> str:
    """sha256 of a split's (prompt, answer) texts as read, in order: what a run was trained and
    evaluated on, before any tokenizer (a resume or a reuse on other data is refused by it)."""
    h = hashlib.sha256()
    for prompt, answer in pairs:
        for text in (prompt, answer):
            data = text.encode("utf-8", "surrogatepass")
            h.update(len(data).to_bytes(8, "little"))
            h.update(data)
    return h.hexdigest()


def split_hashes(task, splits) -> dict[str, str]:
    """``split_hash`` of each split a run reads (loading each one: a missing split fails here)."""
    return {split: task.split_hash(split) for split in splits}


def tokenizer_hash(tokenizer) -> str:
    """sha256 of the tokenizer's definition (vocabulary, merges, normalisation, special tokens)."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    spec = backend.to_str() if backend is not None else repr(sorted(tokenizer.get_vocab().items()))
    specials = repr(sorted((k, str(v)) for k, v in tokenizer.special_tokens_map.items()))
    return hashlib.sha256((spec + specials).encode()).hexdigest()
