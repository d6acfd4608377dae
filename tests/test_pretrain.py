"""The tiny pretrained base: built once per recipe, cached by hash, loaded like any HF model."""

import json

import pytest
import torch

from mutorbench.models.base_corpus import corpus_lines
from mutorbench.models.pretrain import MANIFEST, base_dir, base_key, ensure_base
from mutorbench.models.tokenizer import train_bpe_tokenizer
from mutorbench.results import load_result
from mutorbench.train.config import load_config
from mutorbench.train.loop import train

RECIPE = ["model.hidden_size=32", "model.num_heads=2", "tokenizer.split_digits=true",
          "model.pretrain.steps=6", "model.pretrain.lines=300", "model.pretrain.batch_size=4",
          "model.pretrain.seq_len=32"]


def cfg_with(tmp_path, *extra):
    return load_config(None, [*RECIPE, f"model.pretrain.cache_dir={tmp_path / 'bases'}", *extra])


def test_base_is_built_once_and_reused(tmp_path, capsys):
    cfg = cfg_with(tmp_path)
    path = ensure_base(cfg, progress=False)
    manifest = json.loads((path / MANIFEST).read_text())
    assert manifest["key"] == base_key(cfg) and manifest["tokens_seen"] == 6 * 4 * 32
    assert "pretrained tiny gemma base: 6 steps" in capsys.readouterr().out
    weights = (path / "model.safetensors").read_bytes()
    assert ensure_base(cfg, progress=False) == path  # cached: no second build
    assert capsys.readouterr().out == "" and (path / "model.safetensors").read_bytes() == weights
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary folder left


def test_base_key_follows_the_recipe_not_the_cache_location(tmp_path):
    cfg = cfg_with(tmp_path)
    assert base_key(cfg) == base_key(cfg_with(tmp_path / "elsewhere"))
    assert base_key(cfg) != base_key(cfg_with(tmp_path, "model.pretrain.steps=7"))
    assert base_key(cfg) != base_key(cfg_with(tmp_path, "model.arch=llama"))
    assert base_key(cfg) == base_key(cfg_with(tmp_path, "seed=3"))  # one base for every run seed
    assert base_dir(cfg_with(tmp_path, "model.arch=llama")).name.startswith("llama-")


def test_base_build_is_deterministic(tmp_path):
    a = ensure_base(cfg_with(tmp_path / "a"), progress=False)
    b = ensure_base(cfg_with(tmp_path / "b"), progress=False)
    assert (a / "model.safetensors").read_bytes() == (b / "model.safetensors").read_bytes()


def test_a_killed_build_leaves_nothing_that_looks_finished(tmp_path, monkeypatch):
    from mutorbench.models import pretrain

    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(pretrain, "_token_stream", crash)
    with pytest.raises(KeyboardInterrupt):
        ensure_base(cfg_with(tmp_path), progress=False)
    assert not (tmp_path / "bases").exists() or not any((tmp_path / "bases").iterdir())


def test_fine_tuning_starts_from_the_base(tmp_path):
    cfg = cfg_with(tmp_path, "task.name=gsm8k-gen", "task.train_examples=16",
                   "task.eval_examples=4", "budget.kind=steps", "budget.amount=2",
                   "eval.max_new_tokens=4", "method.id=mutor", f"output_dir={tmp_path / 'runs'}")
    result = load_result(train(cfg, progress=False))
    from safetensors.torch import load_file

    from mutorbench.provenance import weights_hash

    base = ensure_base(cfg, progress=False)
    from transformers import AutoModelForCausalLM

    assert result.init_weights_hash == weights_hash(AutoModelForCausalLM.from_pretrained(base))
    assert load_file(base / "model.safetensors")  # the base itself is untouched by fine-tuning
    assert result.config["model"]["pretrain"]["steps"] == 6


def test_split_digits_gives_one_token_per_digit():
    lines = corpus_lines(0, 500)
    plain, split = train_bpe_tokenizer(lines, 800), train_bpe_tokenizer(lines, 800, split_digits=True)
    text = "12+345=357"
    pieces = [split.decode([i]) for i in split(text, add_special_tokens=False)["input_ids"]]
    assert pieces == ["1", "2", "+", "3", "4", "5", "=", "3", "5", "7"]
    assert split.decode(split(text)["input_ids"], skip_special_tokens=True) == text
    assert len(plain(text)["input_ids"]) < len(split(text)["input_ids"])
    assert torch.tensor(split(text)["input_ids"])[0] == split.bos_token_id


def test_corpus_is_pinned_by_its_version():
    """Cached bases are keyed by CORPUS_VERSION: a change of text must bump it (and this hash)."""
    import hashlib

    from mutorbench.models.base_corpus import CORPUS_VERSION

    text = "\n".join(corpus_lines(0, 1000))
    assert (CORPUS_VERSION, hashlib.sha256(text.encode()).hexdigest()) == (
        1, "b88a919d28c930a07f7a909c2b562654105e7122a97cb94c6d55505466058f8d")
    assert corpus_lines(0, 50) == corpus_lines(0, 50) != corpus_lines(1, 50)
    assert any("\\times" in line for line in corpus_lines(0, 200))
