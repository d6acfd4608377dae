"""MuToR in Hugging Face Trainer / TRL SFTTrainer: the same losses as the suite's, the same
per-step losses as `mutor-bench train` on the same order, a plain saved model, and the README's
example run as written."""

import json
import os
import re
from pathlib import Path

import pytest
import torch

from mutorbench.evaluation.generation import greedy_generate
from mutorbench.examples import Example
from mutorbench.methods.losses import combine
from mutorbench.models.tiny import build_model, tiny_config
from mutorbench.models.tokenizer import train_bpe_tokenizer
from mutorbench.tasks import build_task
from mutorbench.train.build import build_base_model, build_method, build_tokenizer
from mutorbench.train.config import load_config
from mutorbench.train.loop import train

pytest.importorskip("trl")
from datasets import Dataset  # noqa: E402
from transformers import AutoModelForCausalLM, AutoTokenizer, TrainingArguments  # noqa: E402

from mutorbench.integrations.hf import MuToRCollator, MuToRTrainer, make_method  # noqa: E402

README = Path(__file__).resolve().parents[1] / "README.md"
SETS = ["task.train_examples=48", "task.eval_examples=4", "model.hidden_size=32",
        "tokenizer.vocab_size=300", "batch.micro_batch_size=4", "budget.kind=steps",
        "budget.amount=20", "eval.max_new_tokens=4", "threads=1"]
ARMS = [("ntp", "per_example"), ("ntp", "token"), ("mutor", "per_example"), ("mutor", "token")]


def suite_config(tmp_path, method_id, reduction):
    extra = ["method.d_max=3"] if method_id == "mutor" else []
    return load_config(None, [*SETS, f"method.id={method_id}", f"method.reduction={reduction}",
                              f"output_dir={tmp_path / 'suite'}", *extra])


def trainer_for(cfg, tmp_path, **args):
    """The Trainer side of a suite run: same tokenizer, weights, method and examples."""
    task = build_task(cfg.task)
    tokenizer = build_tokenizer(cfg, task)
    examples, _ = task.examples("train", tokenizer, cfg.task.max_length)
    rows = Dataset.from_list([{"prompt_ids": list(e.prompt_ids), "answer_ids": list(e.answer_ids),
                               "index": e.index} for e in examples])
    defaults = dict(output_dir=str(tmp_path / "hf"), per_device_train_batch_size=4, max_steps=20,
                    learning_rate=cfg.optim.lr, warmup_steps=2, lr_scheduler_type="linear",
                    max_grad_norm=1.0, weight_decay=0.0, logging_steps=1, report_to=[],
                    use_cpu=True, dataloader_drop_last=True, save_strategy="no", disable_tqdm=True)
    return MuToRTrainer(model=build_base_model(cfg, tokenizer), processing_class=tokenizer,
                        args=TrainingArguments(**(defaults | args)), train_dataset=rows,
                        method=build_method(cfg.method, seed=cfg.seed), order_seed=cfg.seed)


@pytest.mark.parametrize("method_id,reduction", ARMS)
def test_compute_loss_is_the_methods_loss_on_the_same_batch(tmp_path, method_id, reduction):
    trainer = trainer_for(suite_config(tmp_path, method_id, reduction), tmp_path)
    rows = [trainer.train_dataset[i] for i in range(6)]
    inputs = trainer.data_collator(rows)
    batch = trainer.method.build_batch(
        [Example(tuple(r["prompt_ids"]), tuple(r["answer_ids"]), r["index"]) for r in rows],
        pad_id=trainer.processing_class.pad_token_id, epoch=0, dtype=torch.float32)
    ours = combine(trainer.method.loss_terms(trainer.model, batch), trainer.method.loss_weights())
    theirs = float(trainer.compute_loss(trainer.model, inputs))
    assert theirs == pytest.approx(float(ours), abs=1e-6)
    if method_id == "mutor":
        assert bool(inputs["is_register"].any())


@pytest.mark.parametrize("method_id,reduction", [("ntp", "per_example"), ("mutor", "per_example"),
                                                 ("mutor", "token")])
def test_twenty_trainer_steps_match_the_suites_run_step_by_step(tmp_path, method_id, reduction):
    cfg = suite_config(tmp_path, method_id, reduction)
    torch.set_num_threads(1)
    log = [json.loads(x) for x in (train(cfg, progress=False).parent / "log.jsonl")
           .read_text().splitlines()]
    trainer = trainer_for(cfg, tmp_path)
    trainer.train()
    hf = [h for h in trainer.state.log_history if "loss" in h and "train_runtime" not in h]
    assert len(log) == len(hf) == 20  # 12 steps an epoch: the second epoch's offsets too
    for part in ["loss"] + [k for k in log[0] if k.startswith("loss_")]:
        assert [h[part] for h in hf] == pytest.approx([r[part] for r in log], abs=1e-5), part


def test_a_row_without_an_index_is_one_clear_error():
    method = make_method("mutor", d_max=3, seed=0)
    collator = MuToRCollator(method, pad_id=0)
    with pytest.raises(ValueError, match="needs an `index` column"):
        collator([{"input_ids": [1, 5, 6], "labels": [-100, 5, 6]}])
    with pytest.raises(ValueError, match="config error|Input should be"):
        make_method("mutor", d_max=0)


@pytest.fixture
def tiny_model_dir(tmp_path):
    texts = [f"Question: {a} + {b}?\nAnswer: {a + b}" for a in range(30) for b in range(9)]
    tok = train_bpe_tokenizer(texts, 300)
    model = build_model(tiny_config("gemma", len(tok), hidden_size=32,
                                    pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id,
                                    eos_token_id=tok.eos_token_id), seed=0)
    model.save_pretrained(tmp_path / "base")
    tok.save_pretrained(tmp_path / "base")
    return tmp_path / "base"


def readme_example() -> str:
    section = README.read_text().split("## MuToR in your own `SFTTrainer` script", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_readme_example_runs_as_written_and_saves_a_plain_model(tiny_model_dir, tmp_path,
                                                                    monkeypatch):
    code = readme_example()
    assert code.count("\n") <= 20 and '"google/gemma-2b"' in code
    monkeypatch.chdir(tmp_path)
    scope: dict = {}
    exec(compile(code.replace('"google/gemma-2b"', repr(str(tiny_model_dir))), "README", "exec"),
         scope)
    trainer, tokenizer = scope["trainer"], scope["tokenizer"]
    logged = [h for h in trainer.state.log_history if "loss_register" in h]
    assert logged and trainer.state.global_step == 20
    saved = AutoModelForCausalLM.from_pretrained(tmp_path / "out" / "final")
    base_vocab = AutoModelForCausalLM.from_pretrained(tiny_model_dir).config.vocab_size
    assert saved.config.vocab_size == base_vocab  # the register rows are gone
    assert (len(AutoTokenizer.from_pretrained(tmp_path / "out" / "final"))
            == len(AutoTokenizer.from_pretrained(tiny_model_dir)))  # and their tokens
    registers = trainer.method.suppress_ids()
    prompts = [tokenizer(r["prompt"])["input_ids"] for r in scope["rows"][:6]]
    kw = dict(max_new_tokens=6, eos_id=tokenizer.eos_token_id, pad_id=tokenizer.pad_token_id)
    trained = greedy_generate(trainer.model.eval(), prompts, suppress_ids=registers, **kw)
    assert greedy_generate(saved.eval(), prompts, **kw) == trained
    assert not any(t in registers for out in trained for t in out)
    assert not os.path.exists(tmp_path / "out" / "final" / "checkpoint.pt")
