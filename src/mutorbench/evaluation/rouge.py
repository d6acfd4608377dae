"""ROUGE-1/2/L/Lsum with `rouge_score`, as a deterministic mean in percent.

The hub's `rouge` metric script is not used: it is downloaded at run time and aggregates with a
random bootstrap. Here the per-example F-measures are averaged exactly, so the same predictions
always give the same numbers, and no network is needed.
Defaults match `evaluate`'s rouge (no stemming, rougeLsum splits on newlines). The same computation
is offered as an `evaluate` metric loaded from a path inside this package: ``load_rouge_metric()``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

ROUGE_TYPES = ("rouge1", "rouge2", "rougeL", "rougeLsum")
METRIC_DIR = Path(__file__).parent / "metrics" / "mutor_rouge"
RULE = "rouge_score F-measure, plain mean over examples x100; use_stemmer=False"


def compute_rouge(
    predictions: Sequence[str], references: Sequence[str], *, use_stemmer: bool = False
) -> dict[str, float]:
    from rouge_score import rouge_scorer

    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions for {len(references)} references")
    if not references:
        raise ValueError("no references to score")
    scorer = rouge_scorer.RougeScorer(list(ROUGE_TYPES), use_stemmer=use_stemmer)
    totals = dict.fromkeys(ROUGE_TYPES, 0.0)
    for pred, ref in zip(predictions, references):
        scores = scorer.score(ref, pred)
        for name in ROUGE_TYPES:
            totals[name] += scores[name].fmeasure
    return {name: 100.0 * total / len(references) for name, total in totals.items()}


def load_rouge_metric():
    """The familiar `evaluate` interface, loaded from a script inside this package (a local path:
    nothing is fetched)."""
    import evaluate

    return evaluate.load(str(METRIC_DIR))
