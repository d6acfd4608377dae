"""A (prompt, answer) training example, tokenized the way the paper's code did."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Example:
    prompt_ids: tuple[int, ...]
    answer_ids: tuple[int, ...]  # ends with EOS, unless the task's answers have a fixed length
    index: int  # position in the split: offsets and data order derive from it
    metadata: dict = field(default_factory=dict, compare=False)


def tokenize_example(tokenizer, prompt: str, answer: str, *, index: int, metadata=None) -> Example:
    """Tokenize ``prompt`` and ``prompt + answer + eos`` and split at the prompt's length.

    This is the paper's recipe: the tokenizer adds BOS its own way, EOS is appended to the answer
    text, and the prompt's tokens must be a prefix of the full sequence's tokens.
    """
    prompt_ids = tokenizer(prompt)["input_ids"]
    full_ids = tokenizer(prompt + answer + tokenizer.eos_token)["input_ids"]
    return _split_at_prompt(prompt_ids, full_ids, index, metadata)


def tokenize_examples(tokenizer, pairs, *, chunk: int = 8192, eos: bool = True) -> list[Example]:
    """``tokenize_example`` over many (prompt, answer) pairs, indices 0..n-1, encoded in batches
    (the Rust tokenizer encodes a batch several times faster than one text at a time).
    ``eos=False``: the answer is not followed by EOS (a task whose outputs have a fixed length)."""
    out: list[Example] = []
    end = tokenizer.eos_token if eos else ""
    for s in range(0, len(pairs), chunk):
        part = pairs[s:s + chunk]
        prompts = tokenizer([p for p, _ in part])["input_ids"]
        fulls = tokenizer([p + a + end for p, a in part])["input_ids"]
        out += [_split_at_prompt(p, f, s + k, None) for k, (p, f) in enumerate(zip(prompts, fulls))]
    return out


def _split_at_prompt(prompt_ids, full_ids, index: int, metadata) -> Example:
    if full_ids[: len(prompt_ids)] != prompt_ids:
        raise ValueError(
            f"example {index}: the prompt's tokens are not a prefix of prompt+answer's tokens; "
            "end the prompt at a token boundary (e.g. 'Answer:' followed by ' answer')"
        )
    answer_ids = full_ids[len(prompt_ids) :]
    if not answer_ids:
        raise ValueError(f"example {index}: empty answer")
    return Example(tuple(prompt_ids), tuple(answer_ids), index, dict(metadata or {}))
