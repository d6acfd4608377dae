"""Adding a method is one new file: a toy objective, defined and registered here (nothing under
src/ knows it), configured, trained and counted through the CLI like the built-in ones."""

import dataclasses
import json
from dataclasses import dataclass
from typing import Literal

import pytest
import torch

from mutorbench.cli import main
from mutorbench.configbase import PositiveInt, Strict
from mutorbench.methods.base import MethodBase
from mutorbench.methods.layout import IGNORE_INDEX
from mutorbench.methods.losses import check_reduction, count, forward_token_losses, term
from mutorbench.methods.ntp import build_ntp_inputs
from mutorbench.protocols import Method
from mutorbench.registry import METHODS
from mutorbench.results import load_result
from mutorbench.train.build import build_method
from mutorbench.train.config import load_config


class FirstKConfig(Strict):
    id: Literal["toy_first_k"] = "toy_first_k"
    k: PositiveInt = 2
    prefix_attention: Literal["bidirectional", "causal"] = "bidirectional"


@dataclass
class FirstK(MethodBase):
    """Next-token loss on the first ``k`` answer tokens only."""

    Config = FirstKConfig
    k: int = 2
    prefix_attention: str = "bidirectional"
    reduction: str = "per_example"
    id: str = "toy_first_k"

    def __post_init__(self):
        check_reduction(self.reduction)

    def hyperparameters(self) -> dict:
        return {"k": self.k, "prefix_attention": self.prefix_attention}

    def prepare(self, model, tokenizer) -> None:
        pass

    def build_batch(self, examples, *, pad_id, epoch=0, dtype=torch.float32):
        batch = build_ntp_inputs([e.prompt_ids for e in examples], [e.answer_ids for e in examples],
                                 pad_id=pad_id, prefix_attention=self.prefix_attention, dtype=dtype)
        scored = batch.labels != IGNORE_INDEX
        late = scored & (scored.cumsum(1) > self.k)
        return dataclasses.replace(batch, labels=batch.labels.masked_fill(late, IGNORE_INDEX))

    def loss_weights(self) -> dict[str, float]:
        return {"regular": 1.0}

    def loss_counts(self, batch) -> dict[str, int]:
        return {"regular": count(batch.labels != IGNORE_INDEX, self.reduction)}

    def loss_terms(self, model, batch):
        return {"regular": term(forward_token_losses(model, batch), batch.labels != IGNORE_INDEX,
                                self.reduction)}


@pytest.fixture
def toy_method():
    METHODS.register(FirstK)
    yield FirstK
    METHODS.unregister("toy_first_k")


def test_every_registered_method_satisfies_the_protocol(toy_method):
    for name, cls in METHODS.items():
        method = build_method(load_config(None, [f"method.id={name}"]).method, seed=0)
        assert isinstance(method, Method) and isinstance(method, cls) and method.id == name


def test_a_toy_method_trains_through_the_cli(toy_method, tmp_path, capsys):
    sets = ["method.id=toy_first_k", "method.k=1", "task.train_examples=24",
            "task.eval_examples=2", "model.hidden_size=32", "tokenizer.vocab_size=300",
            "batch.micro_batch_size=4", "budget.kind=steps", "budget.amount=3",
            "eval.max_new_tokens=4", f"output_dir={tmp_path}"]
    assert main(["train", "--no-progress", *[x for s in sets for x in ("--set", s)]]) == 0
    r = load_result(tmp_path / "toy_first_k-seed0" / "result.json")
    assert r.method.id == "toy_first_k" and r.method.hyperparameters["k"] == 1
    assert r.config["method"] == {"id": "toy_first_k", "k": 1, "prefix_attention": "bidirectional"}
    steps = [json.loads(x) for x in (tmp_path / "toy_first_k-seed0" / "log.jsonl").read_text()
             .splitlines()]
    assert len(steps) == 3 and all(s["loss_regular"] > 0 for s in steps)
    capsys.readouterr()
    assert main(["params", "--model", "gemma-2b", "--method", "toy_first_k"]) == 0
    assert json.loads(capsys.readouterr().out)["added_params"] == 0
    # its config is as strict as the built-in ones; LoRA is refused unless it says it applies
    assert main(["train", "--set", "method.id=toy_first_k", "--set", "method.k=0"]) == 2
    assert "config error at method.k" in capsys.readouterr().err
    assert main(["train", "--set", "method.id=toy_first_k", "--set", "peft=lora"]) == 2
    assert "lora supports methods ntp, mutor, not 'toy_first_k'" in capsys.readouterr().err


def test_an_unknown_method_lists_the_registered_ones(toy_method, capsys):
    assert main(["train", "--set", "method.id=nope"]) == 2
    assert "one of: " + ", ".join(METHODS.names()) in \
        capsys.readouterr().err
