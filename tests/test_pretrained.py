"""Runs from a pretrained base: a local copy loads, the init hash ignores the seed, the hub fails clearly."""

import pytest

from mutorbench.cli import main
from mutorbench.models.tiny import build_model, tiny_config
from mutorbench.models.tokenizer import train_bpe_tokenizer
from mutorbench.results import load_result
from mutorbench.tasks.arith import ArithTask
from mutorbench.train.loop import train
from tests.runs import tiny_run


@pytest.fixture(scope="module")
def local_base(tmp_path_factory):
    """A 'pretrained' model saved to disk with its tokenizer, as a user's local copy would be."""
    where = tmp_path_factory.mktemp("base")
    tok = train_bpe_tokenizer(ArithTask(train_examples=48, eval_examples=4).tokenizer_corpus(), 300)
    cfg = tiny_config("llama", len(tok), hidden_size=32, pad_token_id=tok.pad_token_id,
                      bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id)
    build_model(cfg, seed=123).save_pretrained(where)
    tok.save_pretrained(where)
    return where


def test_pretrained_init_hash_is_the_same_for_every_seed(tmp_path, local_base):
    sets = ["model.source=pretrained", f"model.name_or_path={local_base}", "budget.amount=1"]
    r = [load_result(train(tiny_run(tmp_path, m, f"seed={s}", *sets), progress=False))
         for m, s in (("ntp", 0), ("mutor", 0), ("ntp", 1))]
    assert r[0].init_weights_hash == r[1].init_weights_hash == r[2].init_weights_hash
    assert r[0].data.order_hash == r[1].data.order_hash != r[2].data.order_hash


def test_unreachable_hub_model_is_one_clear_error(tmp_path, capsys):
    code = main(["train", "--set", "model.source=pretrained", "--set",
                 "model.name_or_path=google/gemma-2b", "--set", f"output_dir={tmp_path}",
                 "--set", "task.train_examples=8"])
    assert code == 2
    err = capsys.readouterr().err
    assert "google/gemma-2b" in err and "model.name_or_path to a local directory" in err
    assert err.count("\n") == 1
