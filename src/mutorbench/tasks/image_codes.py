"""Class-conditional image generation as a token task (paper §3.4, Tables 7-9 and 15).

An example is the class token (the prompt, one token) and the h x w code grid in raster order
(the answer, no EOS). Two things change per training access, as in LlamaGen's training, and both
are pure functions of (run seed, epoch, example), so every arm of a seed sees the same views:
- classifier-free guidance's label drop: with probability ``label_drop`` the class token is the
  null class (LlamaGen's ``class_dropout_prob`` 0.1, drawn there from the global RNG);
- the augmentation: one of the example's stored code grids (LlamaGen stores the center crop and
  its horizontal flip), uniformly.
The loop chains each global batch's choices into the run's ``order_hash``.

``digits`` (tiny scale): the UCI digits, grey levels as codes (digits_data.py), one augmentation
(a mirrored digit is another glyph). ``imagenet_codes`` (paper scale): codes pre-extracted in
LlamaGen's layout under ``task.local_path``: ``{dataset}{size}_codes/{i}.npy`` of shape
(1, num_aug, grid²) and ``{dataset}{size}_labels/{i}.npy`` of shape (1,), i = 0 .. N-1 (what
LlamaGen's ``extract_codes_c2i.py`` writes).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Annotated

import numpy as np
from pydantic import Field

from mutorbench import digits_data
from mutorbench.configbase import PositiveInt
from mutorbench.evaluation import image_evaluator  # noqa: F401 (registers the evaluator named)
from mutorbench.evaluation.image_fidelity import Reference
from mutorbench.examples import Example
from mutorbench.models.code_vocabulary import CodeVocabulary
from mutorbench.registry import TASKS
from mutorbench.tasks.base import TaskBase, TaskConfig

_VIEW_STREAM = 0x7669_6577


class ImageTaskConfig(TaskConfig):
    # LlamaGen's class_dropout_prob: the share of training accesses that see the null class
    label_drop: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.1

    @property
    def grid(self) -> int:
        raise NotImplementedError

    def check_run(self, run) -> None:
        if run.model.source != "llamagen":
            raise ValueError(f"task {self.name} generates images: it needs model.source=llamagen "
                             f"(class tokens and code grids), not {run.model.source!r}")
        width = getattr(run.method, "grid_width", None)
        if width is not None and width != self.grid:  # 2-D offsets over the wrong rows
            raise ValueError(f"method.grid_width {width} is not task {self.name}'s grid width "
                             f"{self.grid}: set method.grid_width={self.grid}")


def view_choices(seed: int, epoch: int, split_indices: Sequence[int], num_aug: int,
                 label_drop: float) -> list[tuple[int, bool]]:
    """(augmentation, label dropped) of each access: a function of (seed, epoch, example) only."""
    out = []
    for k in split_indices:
        rng = np.random.default_rng([_VIEW_STREAM, seed, epoch, int(k)])
        aug = int(rng.integers(num_aug)) if num_aug > 1 else 0
        out.append((aug, bool(rng.random() < label_drop)))
    return out


@dataclass
class CodeGrids:
    """One split: codes [N, num_aug, grid²] and labels [N], with what they were read from."""
    codes: np.ndarray
    labels: np.ndarray

    def digest(self) -> str:
        h = hashlib.sha256(np.ascontiguousarray(self.codes, dtype=np.int64).tobytes())
        h.update(np.ascontiguousarray(self.labels, dtype=np.int64).tobytes())
        return h.hexdigest()


class ImageTaskBase(TaskBase):
    """What the image tasks share: examples, views, the vocabulary and the split hashes."""

    answer_eos = False
    evaluator = "image_fidelity"
    metric = "image_fidelity"
    views_per_access = True  # the loop asks ``view`` for each training access
    generates_images = True
    label_drop: float = 0.1
    codebook_size: int = 0
    num_classes: int = 0
    grid: int = 0

    @property
    def fixed_answer_tokens(self) -> int:
        return self.grid * self.grid

    def grids(self, split: str) -> CodeGrids:
        """A split's codes and labels, read once per task object."""
        cache = self.__dict__.setdefault("_grids", {})
        if split not in cache:
            cache[split] = self.read_grids(split)
        return cache[split]

    def read_grids(self, split: str) -> CodeGrids:
        raise NotImplementedError(f"{type(self).__name__}.read_grids")

    def code_vocabulary(self) -> CodeVocabulary:
        return CodeVocabulary(self.codebook_size, self.num_classes)

    def texts(self, split: str):
        raise ValueError(f"task {self.name!r} holds code grids, not texts")

    def tokenizer_corpus(self) -> list[str]:
        raise ValueError(f"task {self.name!r} has no text: its vocabulary is the codebook")

    def split_hash(self, split: str) -> str:
        return self.grids(split).digest()

    def reference_hash(self, split: str) -> str:
        """What images of ``split`` are scored against, as a hash (a result's data hash)."""
        return self.split_hash(split)

    def examples(self, split, tokenizer, max_length):
        g = self.grids(split)
        length = 1 + self.grid * self.grid
        if length > max_length:
            raise ValueError(f"task {self.name!r}: a class token and {self.grid}x{self.grid} "
                             f"codes are {length} tokens, over task.max_length={max_length}")
        offset = tokenizer.class_token_offset
        examples = [Example((offset + int(c),), tuple(g.codes[k, 0].tolist()), k,
                            {"split_index": k, "label": int(c)})
                    for k, c in enumerate(g.labels)]
        counts = {"split": split, "total": len(examples), "kept": len(examples),
                  "dropped_too_long": 0, "augmentations": int(g.codes.shape[1])}
        return examples, counts

    def view_choices(self, examples: Sequence[Example], *, seed: int,
                     epoch: int) -> list[tuple[int, bool]]:
        num_aug = self.grids("train").codes.shape[1]
        return view_choices(seed, epoch, [e.metadata["split_index"] for e in examples], num_aug,
                            self.label_drop)

    def view(self, examples: Sequence[Example], *, seed: int, epoch: int,
             choices=None) -> list[Example]:
        """The training examples as this access sees them (augmentation, label drop)."""
        codes = self.grids("train").codes
        null = self.codebook_size + self.num_classes
        if choices is None:
            choices = self.view_choices(examples, seed=seed, epoch=epoch)
        out = []
        for e, (aug, dropped) in zip(examples, choices):
            answer = e.answer_ids if aug == 0 else tuple(
                codes[e.metadata["split_index"], aug].tolist())
            prompt = (null,) if dropped else e.prompt_ids
            out.append(Example(prompt, answer, e.index, e.metadata))
        return out

    def sources(self) -> dict:
        return {"codebook_size": self.codebook_size, "num_classes": self.num_classes,
                "grid": self.grid, "label_drop": self.label_drop}


class DigitsConfig(ImageTaskConfig):
    max_length: PositiveInt = 512

    @property
    def grid(self) -> int:
        return digits_data.GRID


@TASKS.register
@dataclass
class DigitsTask(ImageTaskBase):
    """The UCI digits (scikit-learn, offline): 17 grey levels as codes, an 8 x 8 grid, 10 classes,
    a fixed stratified split (digits_data.py: 1,297 / 200 / 300)."""

    label_drop: float = 0.1
    name: str = "digits"
    trivial_images_offline = True
    codebook_size: int = digits_data.LEVELS
    num_classes: int = digits_data.NUM_CLASSES
    grid: int = digits_data.GRID
    max_new_tokens = digits_data.GRID ** 2

    Config = DigitsConfig

    @classmethod
    def from_config(cls, cfg):
        return cls(label_drop=cfg.label_drop)

    def read_grids(self, split: str) -> CodeGrids:
        d = digits_data.load_split(split)
        return CodeGrids(d.codes[:, None, :], d.labels)

    def split_hash(self, split: str) -> str:
        return digits_data.split_hash(split)

    def reference(self, split: str) -> Reference:
        return Reference(digits_data.to_images(digits_data.load_split(split).codes),
                         about={"split": split, "images": "the digits split itself"})

    def decode_images(self, codes) -> np.ndarray:
        return digits_data.to_images(codes)  # the identity codebook: codes are grey levels

    def trivial_images(self, n: int, seed: int) -> list[tuple[str, str, np.ndarray]]:
        """The image metrics' no-model references, ``n`` images each: (key, rule, images). A
        model must beat the first by far and can at best reach the second."""
        train = digits_data.load_split("train").codes
        rng = np.random.default_rng([seed, 0x7472_6169])
        real = train[rng.choice(len(train), size=min(n, len(train)), replace=False)]
        return [("pixel_marginals", "each pixel drawn from its own training-split marginal "
                 f"(no model), {n} images, seed {seed}",
                 digits_data.to_images(digits_data.marginal_samples(n, seed))),
                ("training_images", f"{len(real)} training-split images themselves (a model "
                 f"that reproduces its data), seed {seed}", digits_data.to_images(real))]

    def feature_space(self, cache_dir: str) -> tuple[str, Path]:
        """A digits classifier's feature space (not Inception): trained once, seeded, cached."""
        from mutorbench.evaluation.digits_features import ensure_classifier, register_extractor

        return register_extractor(), ensure_classifier(cache_dir, seed=0)

    def sources(self) -> dict:
        return super().sources() | {"dataset": "sklearn.datasets.load_digits (UCI)",
                                    "split": "digits_data.py, fixed stratified"}


class ImageNetCodesConfig(ImageTaskConfig):
    local_path: str | None = None  # the folder LlamaGen's extract_codes_c2i.py wrote (--code-path)
    dataset: str = "imagenet"
    image_size: PositiveInt = 256
    codebook_size: PositiveInt = 16384  # VQ-16
    num_classes: PositiveInt = 1000
    downsample: PositiveInt = 16  # VQ-16: a 256 x 256 image is a 16 x 16 grid
    limit: PositiveInt | None = None  # the first N images only (smoke runs)
    max_length: PositiveInt = 1024
    # scoring (local files; hub / GitHub downloads): LlamaGen's VQ-16 to decode sampled codes,
    # ADM's VIRTUAL_imagenet256_labeled.npz to score against, torch-fidelity's Inception weights
    vq_checkpoint: str | None = None
    reference_batch: str | None = None
    inception_weights: str | None = None
    # a feature extractor registered with torch-fidelity; the reference batch's statistics must
    # come from the same one (ADM's: Inception)
    feature_extractor: str = "inception-v3-compat"

    @property
    def grid(self) -> int:
        return self.image_size // self.downsample


@TASKS.register
@dataclass
class ImageNetCodesTask(ImageTaskBase):
    """ImageNet codes in LlamaGen's layout (training split only: FID is against reference
    statistics, not a task split)."""

    local_path: str | None = None
    dataset: str = "imagenet"
    image_size: int = 256
    codebook_size: int = 16384
    num_classes: int = 1000
    downsample: int = 16
    limit: int | None = None
    label_drop: float = 0.1
    vq_checkpoint: str | None = None
    reference_batch: str | None = None
    inception_weights: str | None = None
    feature_extractor: str = "inception-v3-compat"
    name: str = "imagenet_codes"
    max_new_tokens = 256  # 16 x 16 codes (the grid follows image_size / downsample)

    Config = ImageNetCodesConfig

    @classmethod
    def from_config(cls, cfg):
        return cls(local_path=cfg.local_path, dataset=cfg.dataset, image_size=cfg.image_size,
                   codebook_size=cfg.codebook_size, num_classes=cfg.num_classes,
                   downsample=cfg.downsample, limit=cfg.limit, label_drop=cfg.label_drop,
                   vq_checkpoint=cfg.vq_checkpoint, reference_batch=cfg.reference_batch,
                   inception_weights=cfg.inception_weights,
                   feature_extractor=cfg.feature_extractor)

    @property
    def grid(self) -> int:
        return self.image_size // self.downsample

    def _folders(self) -> tuple[Path, Path]:
        if self.local_path is None:
            raise ValueError("task imagenet_codes needs task.local_path: the --code-path folder "
                             "of LlamaGen's extract_codes_c2i.py (ImageNet is not downloaded)")
        root, stem = Path(self.local_path), f"{self.dataset}{self.image_size}"
        codes, labels = root / f"{stem}_codes", root / f"{stem}_labels"
        for folder in (codes, labels):
            if not folder.is_dir():
                raise ValueError(f"task imagenet_codes: {folder} not found (task.local_path must "
                                 f"hold {stem}_codes/ and {stem}_labels/ as LlamaGen writes them)")
        return codes, labels

    def read_grids(self, split: str) -> CodeGrids:
        if split != "train":
            raise ValueError(f"task imagenet_codes has the train split only, not {split!r} "
                             "(images are scored against reference statistics)")
        codes_dir, labels_dir = self._folders()
        n = sum(1 for _ in codes_dir.glob("*.npy"))
        n = n if self.limit is None else min(n, self.limit)
        if n == 0:
            raise ValueError(f"task imagenet_codes: no .npy files in {codes_dir}")
        cells = self.grid * self.grid
        codes, labels = None, np.empty(n, dtype=np.int64)
        for i in range(n):  # 0..n-1 as LlamaGen names them: a gap is an error, not a skip
            try:
                x, y = np.load(codes_dir / f"{i}.npy"), np.load(labels_dir / f"{i}.npy")
            except FileNotFoundError as err:
                raise ValueError(f"task imagenet_codes: {err.filename} is missing (files are "
                                 f"0.npy .. {n - 1}.npy)") from None
            if x.ndim != 3 or x.shape[0] != 1 or x.shape[2] != cells:
                raise ValueError(f"task imagenet_codes: {codes_dir / f'{i}.npy'} has shape "
                                 f"{x.shape}, expected (1, num_aug, {cells})")
            if codes is None:
                codes = np.empty((n, x.shape[1], cells), dtype=np.int32)
            if x.shape[1] != codes.shape[1]:
                raise ValueError(f"task imagenet_codes: {i}.npy has {x.shape[1]} augmentations,"
                                 f" 0.npy has {codes.shape[1]}")
            codes[i], labels[i] = x[0], int(np.asarray(y).reshape(-1)[0])
        if codes.min() < 0 or codes.max() >= self.codebook_size:
            raise ValueError(f"task imagenet_codes: codes outside 0..{self.codebook_size - 1}")
        if labels.min() < 0 or labels.max() >= self.num_classes:
            raise ValueError(f"task imagenet_codes: labels outside 0..{self.num_classes - 1}")
        return CodeGrids(codes, labels)

    def reference(self, split: str) -> Reference:
        """ADM's reference batch (statistics of ImageNet's training set): for the train split."""
        if split != "train":
            raise ValueError(f"task imagenet_codes scores against ADM's ImageNet training "
                             f"reference: eval splits must be 'train', not {split!r}")
        return self._adm_reference

    @cached_property
    def _adm_reference(self) -> Reference:
        """10,000 images (2 GB): read once per task object."""
        from mutorbench.evaluation.adm_reference import read_adm_reference

        ref = read_adm_reference(self.reference_batch)
        if ref.images.shape[-1] != self.image_size:
            raise ValueError(f"{self.reference_batch}: reference images are "
                             f"{ref.images.shape[-1]} pixels wide, task.image_size is "
                             f"{self.image_size}")
        return ref

    def reference_hash(self, split: str) -> str:
        return self.reference(split).about["sha256"]

    @cached_property
    def vq(self):
        """The VQ decoder (loaded once), checked against the task's codebook and grid."""
        from mutorbench.models.vq16 import load_vq_checkpoint

        vq = load_vq_checkpoint(self.vq_checkpoint)
        c = vq.config
        if (c.codebook_size, c.downsample) != (self.codebook_size, self.downsample):
            raise ValueError(f"{self.vq_checkpoint}: a codebook of {c.codebook_size} and "
                             f"downsampling {c.downsample}, the task says "
                             f"{self.codebook_size} and {self.downsample}")
        return vq

    def decode_images(self, codes, batch_size: int = 64) -> np.ndarray:
        """Sampled codes [N, grid²] -> uint8 images [N, 3, S, S], as LlamaGen's FID sampler."""
        import torch

        from mutorbench.models.vq16 import to_uint8

        vq = self.vq
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        vq.to(device)
        codes = torch.as_tensor(np.asarray(codes), dtype=torch.long)
        out = [to_uint8(vq.decode_codes(codes[s:s + batch_size].reshape(-1, self.grid, self.grid)
                                        .to(device))).cpu()
               for s in range(0, len(codes), batch_size)]
        return torch.cat(out).numpy()

    def feature_space(self, cache_dir: str) -> tuple[str, Path]:
        """torch-fidelity's Inception (the TensorFlow FID graph's port), local weights."""
        from mutorbench.evaluation.adm_reference import inception_weights

        return self.feature_extractor, inception_weights(self.inception_weights)

    def sources(self) -> dict:
        return super().sources() | {"local_path": self.local_path, "dataset": self.dataset,
                                    "image_size": self.image_size, "layout": "LlamaGen codes"}
