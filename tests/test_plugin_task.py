"""Adding a task is one new file: a toy task, defined and registered here (nothing under src/
knows it), trained and evaluated through the CLI like the built-in ones."""

import random

import pytest

from mutorbench.cli import main
from mutorbench.configbase import PositiveInt
from mutorbench.protocols import Task
from mutorbench.registry import TASKS
from mutorbench.results import load_result
from mutorbench.tasks import build_task
from mutorbench.tasks.base import TaskBase, TaskConfig
from mutorbench.train.config import load_config


class ReverseConfig(TaskConfig):
    """The task's own config section: ``task.*`` keys beyond these are errors."""
    data_seed: int = 0
    train_examples: PositiveInt = 40
    eval_examples: PositiveInt = 8


class ReverseTask(TaskBase):
    """Reverse a word: a prompt ``Reverse abc:`` and the answer `` cba``, exact match."""

    Config = ReverseConfig
    name, metric, max_new_tokens = "toy_reverse", "exact", 8

    def __init__(self, data_seed: int, train_examples: int, eval_examples: int):
        rng = random.Random(data_seed)
        words = ["".join(rng.choice("abcdefgh") for _ in range(rng.randint(2, 5)))
                 for _ in range(train_examples + eval_examples)]
        pairs = [(f"Reverse {w}:", " " + w[::-1]) for w in words]
        self._splits = {"train": pairs[:train_examples], "test": pairs[train_examples:]}

    @classmethod
    def from_config(cls, cfg):
        return cls(cfg.data_seed, cfg.train_examples, cfg.eval_examples)

    def sources(self) -> dict:
        return {"generator": __name__}

    def texts(self, split: str) -> list[tuple[str, str]]:
        if split not in self._splits:
            raise ValueError(f"task toy_reverse has splits train and test, not {split!r}")
        return self._splits[split]


@pytest.fixture
def toy_task():
    TASKS.register(ReverseTask)
    yield ReverseTask
    TASKS.unregister("toy_reverse")


def test_every_registered_task_satisfies_the_protocol(toy_task):
    for name, cls in TASKS.items():
        assert isinstance(cls, type) and issubclass(cls, TaskBase), name
    task = build_task(load_config(None, ["task.name=toy_reverse"]).task)
    assert isinstance(task, Task) and task.tokenizer_corpus()[0].startswith("Reverse ")


def test_a_toy_task_trains_through_the_cli(toy_task, tmp_path):
    sets = ["task.name=toy_reverse", "task.train_examples=24", "task.eval_examples=4",
            "model.hidden_size=32", "tokenizer.vocab_size=300", "batch.micro_batch_size=4",
            "budget.kind=steps", "budget.amount=3", f"output_dir={tmp_path}"]
    assert main(["train", "--no-progress", *[x for s in sets for x in ("--set", s)]]) == 0
    r = load_result(tmp_path / "ntp-seed0" / "result.json")
    assert r.data.task == "toy_reverse" and r.data.counts["train"]["kept"] == 24
    assert r.config["eval"]["max_new_tokens"] == 8  # the task's own generation length
    assert set(r.metrics.selected.values) == {"accuracy"}
    assert set(r.data.split_hashes) == {"train", "test"}


def test_answers_end_with_eos_unless_the_task_says_they_have_a_fixed_length(toy_task):
    from mutorbench.models.tokenizer import train_bpe_tokenizer

    class FixedLength(ReverseTask):
        answer_eos = False

    task, fixed = ReverseTask(0, 12, 2), FixedLength(0, 12, 2)
    tok = train_bpe_tokenizer(task.tokenizer_corpus(), 300)
    ended, _ = task.examples("train", tok, 512)
    bare, counts = fixed.examples("train", tok, 512)
    assert all(e.answer_ids[-1] == tok.eos_token_id for e in ended)
    assert all(tok.eos_token_id not in e.answer_ids for e in bare) and counts["kept"] == 12
    assert [e.answer_ids for e in bare] == [e.answer_ids[:-1] for e in ended]


def test_the_toy_task_section_is_its_own(toy_task, capsys):
    cfg = load_config(None, ["task.name=toy_reverse", "task.train_examples=5"])
    assert isinstance(cfg.task, ReverseConfig) and cfg.task.train_examples == 5
    assert set(cfg.model_dump()["task"]) == {"name", "max_length", "metric", "data_seed",
                                              "train_examples", "eval_examples"}
    assert main(["train", "--set", "task.name=toy_reverse", "--set", "task.local_path=x"]) == 2
    err = capsys.readouterr().err
    assert err == ("mutor-bench: error: config error at task.local_path: unknown key for task "
                   "'toy_reverse'\n")


def test_an_unknown_task_lists_the_registered_ones(toy_task, capsys):
    assert main(["train", "--set", "task.name=nope"]) == 2
    err = capsys.readouterr().err
    assert "unknown task 'nope'; available: " in err and "toy_reverse" in err and "gsm8k" in err
