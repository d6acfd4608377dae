"""A byte-level BPE tokenizer trained locally (no hub), wrapped as a transformers fast tokenizer."""

from __future__ import annotations

from collections.abc import Iterable

from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import PreTrainedTokenizerFast

SPECIALS = {"pad_token": "<pad>", "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"}


def train_bpe_tokenizer(texts: Iterable[str], vocab_size: int = 512,
                        split_digits: bool = False) -> PreTrainedTokenizerFast:
    """Deterministic for the same texts; ids 0..3 are <pad>, <s>, </s>, <unk>; BOS is prepended.

    ``split_digits`` makes every digit its own token, as the Gemma and Llama 2 tokenizers do, so a
    small model can learn arithmetic digit by digit instead of memorising merged numbers.
    """
    tok = Tokenizer(models.BPE(unk_token=SPECIALS["unk_token"]))
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.pre_tokenizer = (pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                                  byte_level]) if split_digits else byte_level)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIALS.values()),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    bos = SPECIALS["bos_token"]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A", special_tokens=[(bos, tok.token_to_id(bos))]
    )
    return PreTrainedTokenizerFast(tokenizer_object=tok, **SPECIALS)


def numeral_tokenizer(vocabulary: Iterable[str]) -> PreTrainedTokenizerFast:
    """One token per word of ``vocabulary`` (node ids, separators), no BPE: ``12,3|4`` -> 12 3 | 4.

    A comma between numerals is not a token, as in Bachmann & Nagarajan's NumeralTokenizer: every
    answer token is a path node, so a MuToR offset d counts nodes (d = 1 is the next node, the
    step the "Clever Hans" shortcut learns). Decoding puts the commas back, so text round-trips.
    Ids 0..3 are the same specials as the BPE tokenizer's, then the words in the given order.
    """
    words = [w for w in dict.fromkeys(vocabulary) if w != ","]
    vocab = {tok: i for i, tok in enumerate([*SPECIALS.values(), *words])}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token=SPECIALS["unk_token"]))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(",", behavior="removed"),
        pre_tokenizers.Split(Regex(r"\d+|[^\d\s]"), behavior="isolated"),
    ])
    # tokens joined by spaces, then a comma between two numerals and no other space
    tok.decoder = decoders.Sequence([
        decoders.WordPiece(prefix="##", cleanup=False), decoders.Fuse(),
        decoders.Replace(Regex(r"(?<=\d) (?=\d)"), ","), decoders.Replace(" ", ""),
    ])
    bos = SPECIALS["bos_token"]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A", special_tokens=[(bos, vocab[bos])]
    )
    return PreTrainedTokenizerFast(tokenizer_object=tok, **SPECIALS)


def trains_own_tokenizer(cfg) -> bool:
    """Tiny models trained from scratch train their tokenizer on the task (a pretrained or
    pretrained-tiny base brings its own)."""
    return cfg.model.source == "tiny" and cfg.model.pretrain is None


def tokenizer_from_str(text: str, where: str) -> PreTrainedTokenizerFast:
    """A tokenizer saved as its backend's JSON (``tokenizer.backend_tokenizer.to_str()``)."""
    try:
        tok = Tokenizer.from_str(text)
    except Exception as err:  # noqa: BLE001 - the tokenizers library raises its own types
        raise ValueError(f"{where}: not a readable tokenizer ({str(err)[:100]})") from None
    return PreTrainedTokenizerFast(tokenizer_object=tok, **SPECIALS)
