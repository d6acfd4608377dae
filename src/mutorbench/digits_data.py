"""The UCI handwritten digits as 8 x 8 code grids: the tiny scale's real image data, offline.

scikit-learn ships the data (``sklearn.datasets.load_digits``: 1,797 images of 8 x 8 pixels with
17 grey levels, 10 classes), so nothing is downloaded. The grey levels are the codes (an identity
codebook: no VQ model is needed), the digit is the class. The split into train / validation /
test is fixed for everyone (a permutation from a constant seed, stratified by class), so a result
names its split by ``split_hash`` and two runs can never silently score on different images.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache

import numpy as np

GRID = 8  # 8 x 8 pixels: a 64-code answer in raster order
LEVELS = 17  # grey levels 0..16: the identity codebook's size
NUM_CLASSES = 10
SPLITS = ("train", "validation", "test")
HELD_OUT = {"validation": 20, "test": 30}  # images per class in each held-out split
_SPLIT_SEED = 20260  # constant: the split is part of the dataset, not of a run


@dataclass(frozen=True)
class DigitGrids:
    codes: np.ndarray  # [N, 64] int64, grey levels 0..16 in raster order
    labels: np.ndarray  # [N] int64, the digit
    indices: np.ndarray  # [N] positions in sklearn's array (provenance)


def _needs_sklearn():
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise ValueError("the digits image data need scikit-learn: pip install "
                         "'mutorbench[image]'") from None
    return load_digits


@cache
def _all() -> tuple[np.ndarray, np.ndarray]:
    data = _needs_sklearn()()
    codes = np.asarray(data.images, dtype=np.int64).reshape(len(data.images), GRID * GRID)
    return codes, np.asarray(data.target, dtype=np.int64)


@cache
def _split_indices() -> dict[str, np.ndarray]:
    _, labels = _all()
    rng = np.random.default_rng(_SPLIT_SEED)
    out: dict[str, list[int]] = {s: [] for s in SPLITS}
    for c in range(NUM_CLASSES):
        members = rng.permutation(np.flatnonzero(labels == c))
        n_val, n_test = HELD_OUT["validation"], HELD_OUT["test"]
        out["validation"] += members[:n_val].tolist()
        out["test"] += members[n_val:n_val + n_test].tolist()
        out["train"] += members[n_val + n_test:].tolist()
    return {s: np.sort(np.asarray(v, dtype=np.int64)) for s, v in out.items()}


def load_split(split: str) -> DigitGrids:
    """One split's code grids and labels, in sklearn's order."""
    if split not in SPLITS:
        raise ValueError(f"digits: unknown split {split!r}; expected one of {', '.join(SPLITS)}")
    codes, labels = _all()
    idx = _split_indices()[split]
    return DigitGrids(codes[idx], labels[idx], idx)


def split_hash(split: str) -> str:
    """sha256 of a split's codes and labels: what a metric was computed against."""
    grids = load_split(split)
    h = hashlib.sha256(grids.codes.tobytes())
    h.update(grids.labels.tobytes())
    return h.hexdigest()


def to_images(codes) -> np.ndarray:
    """[N, 64] grey levels -> [N, 1, 8, 8] uint8 images (0..16 scaled to 0..255)."""
    codes = np.asarray(codes)
    if codes.ndim != 2 or codes.shape[1] != GRID * GRID:
        raise ValueError(f"digits: expected [N, {GRID * GRID}] codes, got shape {codes.shape}")
    if codes.size and (codes.min() < 0 or codes.max() >= LEVELS):
        raise ValueError(f"digits: codes must be grey levels 0..{LEVELS - 1}, got "
                         f"{codes.min()}..{codes.max()}")
    pixels = np.rint(codes.astype(np.float64) * 255.0 / (LEVELS - 1)).astype(np.uint8)
    return pixels.reshape(len(codes), 1, GRID, GRID)


def marginal_samples(n: int, seed: int) -> np.ndarray:
    """A trivial model: every pixel drawn from its own marginal over the training split."""
    train = load_split("train").codes
    rng = np.random.default_rng([seed, 0x6D61_7267])
    cols = rng.integers(len(train), size=(n, GRID * GRID))
    return train[cols, np.arange(GRID * GRID)[None, :]]
