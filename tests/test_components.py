"""The seams (protocols), the length filter, and the named precision modes."""

import math

import pytest

from mutorbench.evaluation.answers import final_answer
from mutorbench.evaluation.evaluator import GenerationEvaluator, get_scorer
from mutorbench.examples import tokenize_example, tokenize_examples
from mutorbench.methods.mutor import MuToR
from mutorbench.methods.ntp import NextToken
from mutorbench.models.tokenizer import train_bpe_tokenizer
from mutorbench.protocols import Evaluator, Method, Task
from mutorbench.results import load_result
from mutorbench.tasks.arith import ArithTask
from mutorbench.tasks.base import TaskBase, tokenize_split
from mutorbench.train.loop import train
from tests.runs import log_of, tiny_run


def test_components_satisfy_the_protocols():
    task = ArithTask(train_examples=8, eval_examples=2)
    assert isinstance(task, Task)
    assert isinstance(NextToken(), Method) and isinstance(MuToR(), Method)
    assert isinstance(GenerationEvaluator(task, get_scorer("arith")), Evaluator)


def test_length_filter_applies_once_on_the_register_free_length():
    task = ArithTask(train_examples=40, eval_examples=2)
    tok = train_bpe_tokenizer(task.tokenizer_corpus(), 300)
    full, _ = tokenize_split(task, "train", tok, max_length=10_000)
    lengths = sorted(len(e.prompt_ids) + len(e.answer_ids) for e in full)
    cut = lengths[len(lengths) // 2]
    kept, counts = tokenize_split(task, "train", tok, max_length=cut)
    assert counts == {"split": "train", "total": 40, "kept": len(kept),
                      "dropped_too_long": 40 - len(kept)}
    assert all(len(e.prompt_ids) + len(e.answer_ids) <= cut for e in kept)
    assert 0 < len(kept) < 40
    assert [e.index for e in kept] == list(range(len(kept)))  # dense indices for the sampler
    with pytest.raises(ValueError, match="no example fits"):
        tokenize_split(task, "train", tok, max_length=3)


def test_tokenization_follows_the_paper_recipe():
    tok = train_bpe_tokenizer(["Question: a?\n\nAnswer: 1"] * 20, 280)
    ex = tokenize_example(tok, "Question: a?\n\nAnswer:", " 1", index=0)
    assert ex.prompt_ids[0] == tok.bos_token_id  # the tokenizer's own BOS handling
    assert ex.answer_ids[-1] == tok.eos_token_id  # EOS appended to the answer text
    assert list(ex.prompt_ids + ex.answer_ids) == tok("Question: a?\n\nAnswer: 1</s>")["input_ids"]
    assert final_answer("x = 3.\n#### 12") == "12" and final_answer("no answer") is None


def _tasks_with_tokenizers(n: int):
    from mutorbench.models.tokenizer import numeral_tokenizer
    from mutorbench.tasks.star_graph import StarGraphTask

    arith = ArithTask(train_examples=n, eval_examples=2)
    star = StarGraphTask(train_examples=n, eval_examples=2, degree=2, path_length=4, num_nodes=20)
    return [(arith, train_bpe_tokenizer(arith.tokenizer_corpus(), 300)),
            (star, numeral_tokenizer(star.vocabulary()))]


# 30 texts in chunks of 7: transformers' call, chunk edges included; 300 in one chunk: the ids
# come from the Rust backend (examples.encode_batch)
@pytest.mark.parametrize("n, chunk", [(30, 7), (300, 8192)])
def test_batched_tokenization_equals_one_at_a_time(n, chunk):
    from mutorbench.examples import encode_batch

    for task, tok in _tasks_with_tokenizers(n):
        pairs = task.texts("train")
        one = [tokenize_example(tok, p, a, index=i) for i, (p, a) in enumerate(pairs)]
        assert tokenize_examples(tok, pairs, chunk=chunk) == one
        texts = [p + a + tok.eos_token for p, a in pairs]
        assert encode_batch(tok, texts) == tok(texts)["input_ids"]
        # a backend left padded (e.g. by a tokenizer.json) must not pad the ids
        tok.backend_tokenizer.enable_padding(pad_id=tok.pad_token_id, length=64)
        assert encode_batch(tok, texts) == [list(e.prompt_ids + e.answer_ids) for e in one]
    bpe = train_bpe_tokenizer(["Question: a?\n\nAnswer: 1"] * 20, 280)
    with pytest.raises(ValueError, match="example 1: the prompt's tokens are not a prefix"):
        tokenize_examples(bpe, [("Answer:", " 1"), ("Answ", "er: 1")])  # cut inside a token


@pytest.mark.parametrize("precision", ["bf16", "bf16-autocast"])
def test_precision_modes_train_and_are_recorded(tmp_path, precision):
    path = train(tiny_run(tmp_path, "mutor", f"precision={precision}", "budget.amount=1"),
                 progress=False)
    r = load_result(path)
    assert r.config["precision"] == precision
    losses = [s["loss"] for s in log_of(path)]
    assert all(math.isfinite(x) for x in losses) and losses[-1] < losses[0]


def test_generation_log_recomputes_the_metric(tmp_path):
    import json

    from mutorbench.models.tiny import build_model, tiny_config

    task = ArithTask(train_examples=8, eval_examples=4)
    tok = train_bpe_tokenizer(task.tokenizer_corpus(), 300)
    model = build_model(tiny_config("llama", len(tok), pad_token_id=tok.pad_token_id), seed=0)
    prompts = [p for p, _ in task.texts("test")]

    class Stub(TaskBase):  # references: the model's own outputs for two prompts, junk otherwise
        def texts(self, split):
            return list(zip(prompts, refs))

    refs = ["x"] * 4
    first = GenerationEvaluator(Stub(), get_scorer("exact"), max_new_tokens=6)
    first(model, tok, "test", log_path=tmp_path / "a.jsonl")
    outputs = [json.loads(line)["completion"] for line in (tmp_path / "a.jsonl").read_text().splitlines()]
    refs = outputs[:2] + ["junk", "junk"]
    metrics = first(model, tok, "test", log_path=tmp_path / "b.jsonl")
    rows = [json.loads(line) for line in (tmp_path / "b.jsonl").read_text().splitlines()]
    assert metrics == {"accuracy": 50.0}
    assert [r["correct"] for r in rows] == [True, True, False, False]
    assert [r["index"] for r in rows] == [0, 1, 2, 3] and rows[0]["reference"] == outputs[0]


@pytest.mark.parametrize("decay", ["all", "matrices"])
def test_weight_decay_on_all_parameters_or_on_matrices_only(decay):
    """decay=matrices is LlamaGen's rule: >= 2-D parameters decay, norm weights do not."""
    import torch

    from mutorbench.train.build import build_optimizer
    from mutorbench.train.config import OptimConfig

    model = torch.nn.Sequential(torch.nn.Linear(4, 4, bias=False), torch.nn.LayerNorm(4))
    before = [p.detach().clone() for p in model.parameters()]
    plan = type("Plan", (), {"warmup_steps": 0, "total_steps": 10})()
    opt, _ = build_optimizer(model, OptimConfig(lr=0.1, weight_decay=0.5, decay=decay,
                                                schedule="constant"), plan)
    for p in model.parameters():
        p.grad = torch.zeros_like(p)
    opt.step()
    matrix, norm_weight, norm_bias = (p.detach() for p in model.parameters())
    assert torch.allclose(matrix, before[0] * (1 - 0.1 * 0.5))  # AdamW's decoupled decay
    shrunk = before[1] * (1 - 0.1 * 0.5) if decay == "all" else before[1]
    assert torch.allclose(norm_weight, shrunk) and torch.equal(norm_bias, before[2])
