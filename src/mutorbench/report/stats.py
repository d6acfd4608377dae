"""Paired statistics: the delta of a method to Next-Token with a bootstrap CI over examples."""

from __future__ import annotations

import numpy as np


def paired_bootstrap_delta(method: np.ndarray, baseline: np.ndarray, *, resamples: int = 2000,
                           seed: int = 0, level: float = 0.95) -> tuple[float, float, float]:
    """Mean delta and its percentile CI; inputs are [seeds, examples] per-example scores.

    Each resample draws the same examples for both arms (paired) and averages over seeds, so the
    interval reflects the test set's sampling noise for the seeds that were run.
    """
    method, baseline = np.atleast_2d(method), np.atleast_2d(baseline)
    if method.shape != baseline.shape:
        raise ValueError(f"paired scores need equal shapes, got {method.shape} and {baseline.shape}")
    diff = (method - baseline).mean(axis=0)  # per example, averaged over seeds
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, diff.size, size=(resamples, diff.size))
    means = diff[idx].mean(axis=1)
    lo, hi = np.quantile(means, [(1 - level) / 2, 1 - (1 - level) / 2])
    return float(diff.mean()), float(lo), float(hi)
