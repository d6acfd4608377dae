"""ROUGE: known values by hand, determinism, and the local `evaluate` metric (no hub)."""

import pytest

from mutorbench.evaluation.rouge import compute_rouge, load_rouge_metric


def test_known_values():
    # identical -> 100; disjoint -> 0
    assert compute_rouge(["the cat sat"], ["the cat sat"]) == {
        "rouge1": 100.0, "rouge2": 100.0, "rougeL": 100.0, "rougeLsum": 100.0}
    assert compute_rouge(["dog runs"], ["the cat sat"])["rouge1"] == 0.0
    # pred "the cat" vs ref "the cat sat": unigram P = 1, R = 2/3 -> F = 0.8; bigram P = 1, R = 1/2
    r = compute_rouge(["the cat"], ["the cat sat"])
    assert r["rouge1"] == pytest.approx(80.0)
    assert r["rouge2"] == pytest.approx(100 * 2 * 0.5 / 1.5)
    assert r["rougeL"] == pytest.approx(80.0)


def test_plain_mean_over_examples_and_rougelsum_uses_newlines():
    r = compute_rouge(["the cat sat", "dog runs"], ["the cat sat", "the cat sat"])
    assert r["rouge1"] == pytest.approx(50.0)  # (100 + 0) / 2, no bootstrap
    a = compute_rouge(["b c\na b"], ["a b\nb c"])
    assert a["rougeLsum"] == pytest.approx(100.0) and a["rougeL"] < 100.0


def test_deterministic_and_bad_input():
    preds = ["amanda baked cookies", "they will meet at noon tomorrow"]
    refs = ["amanda baked cookies for jerry", "they meet tomorrow at noon"]
    assert compute_rouge(preds, refs) == compute_rouge(preds, refs)
    with pytest.raises(ValueError, match="2 predictions for 1 references"):
        compute_rouge(preds, refs[:1])
    with pytest.raises(ValueError, match="no references"):
        compute_rouge([], [])


def test_evaluate_interface_loads_locally_and_agrees():
    metric = load_rouge_metric()
    preds = ["amanda baked cookies", "they will meet at noon tomorrow"]
    refs = ["amanda baked cookies for jerry", "they meet tomorrow at noon"]
    assert metric.compute(predictions=preds, references=refs) == compute_rouge(preds, refs)
