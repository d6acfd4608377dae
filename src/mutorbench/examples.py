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
        prompts = encode_batch(tokenizer, [p for p, _ in part])
        fulls = encode_batch(tokenizer, [p + a + end for p, a in part])
        out += [_split_at_prompt(p, f, s + k, None) for k, (p, f) in enumerate(zip(prompts, fulls))]
    return out


def encode_batch(tokenizer, texts: list[str]) -> list[list[int]]:
    """``tokenizer(texts)["input_ids"]``, from the Rust backend directly where that is the same.

    transformers' per-encoding conversion to Python dicts is most of the time on short texts
    (200k star graphs: 25 s -> 13 s). The backend gives the same ids when transformers would set
    no padding or truncation on it; the first texts are checked against the full call each time,
    and any difference falls back to it.
    """
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if (backend is None or backend.padding is not None or backend.truncation is not None
            or getattr(tokenizer, "split_special_tokens", False) or len(texts) < 64):
        return tokenizer(texts, return_attention_mask=False)["input_ids"]
    full_call = tokenizer(texts[:16], return_attention_mask=False)["input_ids"]
    ids = [e.ids for e in backend.encode_batch(texts)]
    if ids[:16] != full_call:
        return tokenizer(texts, return_attention_mask=False)["input_ids"]
    return ids


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
