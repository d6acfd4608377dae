"""The result schema: the committed JSON Schema is the model's, and the loader rejects corruption."""

import copy
import json

import jsonschema
import pytest

from mutorbench.results import SCHEMA_PATH, json_schema, load_result, write_result
from mutorbench.train.loop import train
from tests.runs import tiny_run


@pytest.fixture(scope="module")
def result_data(tmp_path_factory):
    path = train(tiny_run(tmp_path_factory.mktemp("schema"), "mutor", "budget.amount=1"),
                 progress=False)
    return json.loads(path.read_text())


def test_committed_schema_file_is_current():
    assert json.loads(SCHEMA_PATH.read_text()) == json_schema(), (
        "regenerate with: python -c \"import json; from mutorbench.results import *; "
        "SCHEMA_PATH.write_text(json.dumps(json_schema(), indent=2) + '\\n')\"")


def test_real_result_validates_against_the_schema_file(result_data):
    jsonschema.validate(result_data, json.loads(SCHEMA_PATH.read_text()))


def _set(tree, dotted, value):
    *path, last = dotted.split(".")
    for p in path:
        tree = tree[int(p)] if isinstance(tree, list) else tree[p]
    if value is KeyError:
        del tree[last]
    else:
        tree[last] = value


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("schema_version", 2, "schema_version"),
        ("status", "running", "status"),
        ("init_weights_hash", "abc", "init_weights_hash"),
        ("data.order_hash", KeyError, "data.order_hash"),
        ("budget.steps_taken", -1, "budget.steps_taken"),
        ("budget.kind", "hours", "budget.kind"),
        ("metrics.selected.values", {"acc": 50.0}, "unknown metric names"),
        ("metrics.checkpoints.0.values", {"accuracy": "high"}, "metrics.checkpoints.0.values"),
        ("throughput.peak_memory_kind", "gpu", "throughput.peak_memory_kind"),
        ("surprise", 1, "surprise"),
        ("provenance", KeyError, "provenance"),
    ],
)
def test_loader_rejects_corrupted_results(tmp_path, result_data, field, value, message):
    bad = copy.deepcopy(result_data)
    _set(bad, field, value)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    with pytest.raises(ValueError, match=message):
        load_result(path)
    with pytest.raises(ValueError):
        write_result(tmp_path / "never.json", bad)
    assert not (tmp_path / "never.json").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["bad.json"]  # no temporary file left


def test_loader_errors_on_missing_and_non_json(tmp_path):
    with pytest.raises(ValueError, match="result file not found"):
        load_result(tmp_path / "nope.json")
    (tmp_path / "x.json").write_text("{")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_result(tmp_path / "x.json")
