"""Adding an evaluator is one new file: an expensive toy evaluator (standing in for FID over
sampled images) and a task that names it, registered here; the run evaluates it only at the
steps the config lists and at the last one, while a cheap evaluator runs at every epoch end."""

from dataclasses import dataclass
from typing import ClassVar

import pytest

from mutorbench.cli import main
from mutorbench.evaluation.evaluator import GenerationEvaluator
from mutorbench.protocols import Evaluator
from mutorbench.registry import EVALUATORS, TASKS
from mutorbench.results import load_result
from mutorbench.tasks.arith import ArithTask
from mutorbench.train.config import load_config
from mutorbench.train.schedule import evaluation_due


@dataclass
class CostlyEvaluator(GenerationEvaluator):
    name: ClassVar[str] = "toy_costly"
    expensive: ClassVar[bool] = True
    calls: ClassVar[list] = []

    def __call__(self, model, tokenizer, split, **kw):
        CostlyEvaluator.calls.append(split)
        return super().__call__(model, tokenizer, split, **kw)


@dataclass
class CostlyArith(ArithTask):
    name: str = "toy_costly_arith"
    evaluator = "toy_costly"


@pytest.fixture
def costly():
    EVALUATORS.register(CostlyEvaluator)
    TASKS.register(CostlyArith)
    CostlyEvaluator.calls.clear()
    yield
    TASKS.unregister("toy_costly_arith")
    EVALUATORS.unregister("toy_costly")


# 8 examples, batch 4: 2 steps per epoch, 6 steps in all
SETS = ["task.train_examples=8", "task.eval_examples=2", "model.hidden_size=32",
        "tokenizer.vocab_size=300", "batch.micro_batch_size=4", "budget.kind=steps",
        "budget.amount=6", "eval.max_new_tokens=6"]


def _train(tmp_path, *sets):
    argv = ["train", "--no-progress", *[x for s in [*SETS, f"output_dir={tmp_path}", *sets]
                                        for x in ("--set", s)]]
    return main(argv)


def _steps(path) -> list[int]:
    return sorted({c.step for c in load_result(path).metrics.checkpoints})


def test_every_registered_evaluator_satisfies_the_protocol(costly):
    task = CostlyArith(train_examples=4, eval_examples=2)
    cfg = load_config(None, []).eval
    for name, cls in EVALUATORS.items():
        assert isinstance(cls.from_config(task, cfg, prefix_attention="causal"), Evaluator), name


def test_an_expensive_evaluator_runs_only_at_the_listed_steps_and_the_last(costly, tmp_path):
    assert _train(tmp_path / "cheap", "eval.at_steps=[3]") == 0
    assert _steps(tmp_path / "cheap" / "ntp-seed0" / "result.json") == [2, 3, 4, 6]
    assert CostlyEvaluator.calls == []
    assert _train(tmp_path / "costly", "task.name=toy_costly_arith", "eval.at_steps=[3]") == 0
    assert _steps(tmp_path / "costly" / "ntp-seed0" / "result.json") == [3, 6]
    assert CostlyEvaluator.calls == ["test", "test"]


def test_a_listed_step_past_the_end_is_refused_before_training(costly, tmp_path, capsys):
    assert _train(tmp_path / "out", "task.name=toy_costly_arith", "eval.at_steps=[3,9]") == 2
    assert capsys.readouterr().err == ("mutor-bench: error: eval.at_steps [9] are past the run's "
                                       "last step 6\n")
    assert not (tmp_path / "out").exists() and CostlyEvaluator.calls == []


def test_the_schedule_as_data():
    cfg = load_config(None, ["eval.every_steps=5", "eval.at_steps=[7]"]).eval
    due = {kind: [s for s in range(1, 13) if evaluation_due(s, steps_per_epoch=4, total_steps=12,
                                                            eval_cfg=cfg, expensive=kind)]
           for kind in (False, True)}
    assert due == {False: [4, 5, 7, 8, 10, 12], True: [7, 12]}
