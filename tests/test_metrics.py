"""One record per metric: every value a scorer produces is registered, and the records agree with
the paper tables' own directions and units (the reporter, selection and plots read them)."""


import pytest

from mutorbench.evaluation.evaluator import SCORER_KEYS
from mutorbench.metrics import METRICS, Metric, get_metric, register_metric
from mutorbench.paper import load_paper_table, table_files
from mutorbench.results import METRIC_NAMES
from mutorbench.selection import select


def test_every_scorer_value_is_a_registered_metric():
    produced = {k for keys in SCORER_KEYS.values() for k in keys} | {"token_accuracy"}
    assert produced <= set(METRICS)
    assert set(METRIC_NAMES) == set(METRICS) >= {"precision", "recall", "inception_score", "fid"}


def test_records_agree_with_the_paper_tables():
    for path in table_files("baselines/paper"):
        table = load_paper_table(path.stem)
        names = table.metric if isinstance(table.metric, list) else [table.metric]
        for name in names:
            if name not in METRICS:
                continue  # 'rouge' (a family), 'hyperparameters'
            direction = table.higher_is_better
            if isinstance(direction, dict):
                direction = direction[name]
            assert get_metric(name).higher_is_better == direction, (path.name, name)
            unit = table.unit[name] if isinstance(table.unit, dict) else table.unit
            assert (get_metric(name).unit == "percent") == (unit == "percent"), (path.name, name)


def test_selection_follows_the_metric_direction():
    cps = [{"step": s, "epoch": 1.0, "split": "test", "values": {"fid": f, "inception_score": i}}
           for s, f, i in [(1, 7.0, 150.0), (2, 5.0, 140.0), (3, 6.0, 160.0)]]
    assert select(cps, "best", "fid", "test", "test")["checkpoint"]["step"] == 2
    assert select(cps, "best", "inception_score", "test", "test")["checkpoint"]["step"] == 3


def test_registry_refuses_duplicates_and_bad_units():
    with pytest.raises(ValueError, match="registered twice"):
        register_metric(Metric("accuracy"))
    with pytest.raises(ValueError, match="unit must be"):
        register_metric(Metric("new_metric", unit="bits"))
    with pytest.raises(ValueError, match="unknown metric 'nope'; known: accuracy"):
        get_metric("nope")
    assert get_metric("fid").axis_label == "fid ↓" and get_metric("accuracy").axis_label == \
        "accuracy (%) ↑"
