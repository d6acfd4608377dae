"""The vocabulary of a code-grid task: what a text tokenizer is to a text task, for images.

Ids ``0 .. K-1`` are the image codes (a VQ codebook, or the digits' grey levels), ``K .. K+C-1``
the class tokens and ``K+C`` the null class of classifier-free guidance (LlamaGen's layout:
``class_token_offset = K``), then the tokens a method adds (MuToR's registers). It answers the
part of a tokenizer's interface a run uses; there is no text to encode.
"""

from __future__ import annotations


class CodeVocabulary:
    kind = "codes"
    bos_token_id = None
    eos_token_id = None  # a code grid has a fixed length: no EOS
    pad_token_id = 0  # padding comes from lengths, never from ids (grids are never padded)
    backend_tokenizer = None
    special_tokens_map: dict = {}

    def __init__(self, codebook_size: int, num_classes: int):
        if codebook_size < 1 or num_classes < 1:
            raise ValueError(f"a code vocabulary needs codes and classes, got {codebook_size} "
                             f"codes and {num_classes} classes")
        self.codebook_size, self.num_classes = int(codebook_size), int(num_classes)
        self.added: list[str] = []

    @property
    def class_token_offset(self) -> int:
        return self.codebook_size

    @property
    def null_class_id(self) -> int:
        return self.codebook_size + self.num_classes

    def class_id(self, label: int) -> int:
        if not 0 <= label < self.num_classes:
            raise ValueError(f"class {label} is outside 0..{self.num_classes - 1}")
        return self.codebook_size + int(label)

    def __len__(self) -> int:
        return self.codebook_size + self.num_classes + 1 + len(self.added)

    def add_tokens(self, tokens, special_tokens: bool = True) -> int:
        names = [str(t) for t in tokens]
        if any(n in self.added for n in names):
            return 0
        self.added += names
        return len(names)

    def convert_tokens_to_ids(self, names):
        base = self.codebook_size + self.num_classes + 1
        return [base + self.added.index(str(n)) for n in names]

    def get_vocab(self) -> dict[str, int]:
        return {f"<code_{i}>": i for i in range(self.codebook_size)} | {
            f"<class_{c}>": self.codebook_size + c for c in range(self.num_classes)} | {
            "<null_class>": self.null_class_id} | dict(
            zip(self.added, self.convert_tokens_to_ids(self.added)))
