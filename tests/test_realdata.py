"""Real public data as users have it (`../shared/realdata`, provenance in its SOURCES.md): every
loader on every file there, counts equal to upstream's, every gold answer accepted by its checker,
and a short `mutor-bench eval` of a tiny exported model on 20 real examples per task.

Runs whenever the folder is beside the checkout (CI has it); skips otherwise."""

import json
from pathlib import Path

import pytest

from mutorbench.cli import main
from mutorbench.evaluation.evaluator import get_scorer
from mutorbench.results import load_result
from mutorbench.tasks.aqua import AquaTask
from mutorbench.tasks.gsm8k import GSM8KTask
from mutorbench.tasks.math500 import MATH500Task
from mutorbench.tasks.star_graph import StarGraphTask
from mutorbench.tasks.summarization import DialogSumTask, SAMSumTask

REAL = Path(__file__).resolve().parents[2] / "shared" / "realdata"
pytestmark = pytest.mark.skipif(not REAL.is_dir(), reason=f"no real data at {REAL}")


def accepted(task, split, as_completion=lambda ref: ref) -> float:
    """Percent of gold references the task's own scorer accepts as completions."""
    pairs = task.texts(split)
    refs = [a for _, a in pairs]
    values, _ = get_scorer(task.metric)([as_completion(r) for r in refs], refs)
    return values.get("accuracy", values.get("rougeL", values.get("solve_rate")))


def test_gsm8k_authors_repository():
    task = GSM8KTask(local_path=str(REAL / "gsm8k"))
    assert len(task.texts("train")) == 7473  # upstream: 7,473 / 1,319
    assert len(task.texts("test")) == 1319  # test_socratic.jsonl beside it is not the test split
    assert accepted(task, "train") == accepted(task, "test") == 100.0


def test_math500():
    task = MATH500Task(local_path=str(REAL / "math500"))
    assert len(task.texts("test")) == 500
    assert accepted(task, "test", lambda ref: f"so the answer is \\boxed{{{ref}}}") == 100.0


def test_aqua_authors_repository():
    task = AquaTask(local_path=str(REAL / "aqua"))
    assert len(task.texts("validation")) == 254 and len(task.texts("test")) == 254  # dev.json
    assert accepted(task, "validation") == accepted(task, "test") == 100.0
    with pytest.raises(ValueError, match="no 'train' split"):  # train.json is not in the copy
        task.texts("train")


def test_dialogsum_authors_repository_with_three_references():
    task = DialogSumTask(local_path=str(REAL / "dialogsum"))
    assert len(task.texts("validation")) == 500
    test = task.texts("test")
    assert len(test) == 1500  # 500 dialogues x 3 references, as the hub's copy
    assert test[0][0] == test[1][0] == test[2][0] and len({a for _, a in test[:3]}) == 3
    assert accepted(task, "validation") == pytest.approx(100.0)


def test_samsum_copies():
    task = SAMSumTask(local_path=str(REAL / "samsum"))
    assert len(task.texts("test")) == 819
    assert accepted(task, "test") == pytest.approx(100.0)
    other = SAMSumTask(local_path=str(REAL / "samsum-tnlp"))
    with pytest.raises(ValueError, match="missing column 'dialogue' .*columns: context, response"):
        other.texts("test")  # refused with the real cause: another copy's field names


@pytest.mark.parametrize("name", sorted(p.name for p in (REAL / "star_graph").glob("*.txt"))
                         if (REAL / "star_graph").is_dir() else [])
def test_star_graph_published_test_files(name):
    import re

    degree, path, nodes = (int(x) for x in re.match(r"deg_(\d+)_path_(\d+)_nodes_(\d+)",
                                                       name).groups())
    task = StarGraphTask(degree=degree, path_length=path, num_nodes=nodes, eval_examples=20000,
                         local_path=str(REAL / "star_graph"))
    pairs = task.texts("test")  # no train file needed to evaluate
    assert len(pairs) == 20000
    assert all(len(a.split(",")) == path for _, a in pairs[:500])
    assert accepted(task, "test") == 100.0


@pytest.fixture(scope="module")
def tiny_export(tmp_path_factory):
    from tests.test_eval_cli import exported_mutor_checkpoint

    return exported_mutor_checkpoint(tmp_path_factory.mktemp("export") / "ckpt")


EVALS = {
    "gsm8k": ("gsm8k", []), "math500": ("math500", []), "aqua": ("aqua", []),
    "samsum": ("samsum", []), "dialogsum": ("dialogsum", []),
    "star_graph": ("star_graph", ["task.graph.degree=2", "task.graph.path_length=5",
                                  "task.graph.num_nodes=50", "task.eval_examples=20000"]),
}


@pytest.mark.parametrize("name", sorted(EVALS))
def test_eval_of_a_tiny_exported_model_on_20_real_examples(name, tiny_export, tmp_path):
    task, sets = EVALS[name]
    out = tmp_path / "out"
    argv = ["eval", "--model", str(tiny_export), "--task", task, "--limit", "20",
            "--set", f"task.local_path={REAL / name}", "--set", f"output_dir={out}",
            "--set", "eval.max_new_tokens=6", *[x for s in sets for x in ("--set", s)]]
    assert main(argv) == 0
    path = next(out.rglob("result.json"))
    r = load_result(path)
    assert r.data.counts["test"]["kept"] == 20 and r.data.counts["test"]["limit"] == 20
    log = next(out.rglob("step0000000-test.jsonl"))
    rows = [json.loads(x) for x in log.read_text().splitlines()]
    assert len(rows) == 20
    assert all(0.0 <= v <= 100.0 for v in r.metrics.selected.values.values())
