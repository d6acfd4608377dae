"""A (prompt, answer) training example, tokenized the way the paper's code did."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Example:
    prompt_ids: tuple[int, ...]
    answer_ids: tuple[int, ...]  # ends with EOS
    index: int  # position in the split: offsets and data order derive from it
    metadata: dict = field(default_factory=dict, compare=False)


def tokenize_example(tokenizer, prompt: str, answer: str, *, index: int, metadata=None) -> Example:
    """Tokenize ``prompt`` and ``prompt + answer + eos`` and split at the prompt's length.

    This is the paper's recipe: the tokenizer adds BOS its own way, EOS is appended to the answer
    text, and the prompt's tokens must be a prefix of the full sequence's tokens.
    """
    prompt_ids = tokenizer(prompt)["input_ids"]
    full_ids = tokenizer(prompt + answer + tokenizer.eos_token)["input_ids"]
    if full_ids[: len(prompt_ids)] != prompt_ids:
        raise ValueError(
            f"example {index}: the prompt's tokens are not a prefix of prompt+answer's tokens; "
            "end the prompt at a token boundary (e.g. 'Answer:' followed by ' answer')"
        )
    answer_ids = full_ids[len(prompt_ids) :]
    if not answer_ids:
        raise ValueError(f"example {index}: empty answer")
    return Example(tuple(prompt_ids), tuple(answer_ids), index, dict(metadata or {}))
