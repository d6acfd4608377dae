"""`mutor-bench eval` on a locally saved tiny checkpoint and on a custom JSONL task."""

import json

from mutorbench.cli import main
from mutorbench.methods.mutor import MuToR
from mutorbench.models.registers import save_without_registers
from mutorbench.models.tiny import build_model, tiny_config
from mutorbench.models.tokenizer import train_bpe_tokenizer
from mutorbench.results import load_result
from mutorbench.tasks.arith import ArithTask


def exported_mutor_checkpoint(where):
    """A MuToR-prepared tiny model, exported as a plain causal LM."""
    tok = train_bpe_tokenizer(ArithTask(train_examples=48, eval_examples=4).tokenizer_corpus(), 300)
    model = build_model(tiny_config("gemma", len(tok), hidden_size=32,
                                    pad_token_id=tok.pad_token_id), seed=0)
    method = MuToR(seed=0)
    method.prepare(model, tok)
    save_without_registers(model, method.state, where)
    return where


def test_eval_a_local_checkpoint_on_arith(tmp_path, capsys):
    ckpt = exported_mutor_checkpoint(tmp_path / "ckpt")
    argv = ["eval", "--model", str(ckpt), "--task", "arith", "--set", "task.train_examples=48",
            "--set", "task.eval_examples=4", "--set", f"output_dir={tmp_path / 'out'}",
            "--set", "eval.max_new_tokens=8"]
    assert main(argv) == 0
    path = tmp_path / "out" / "eval-arith-ckpt" / "result.json"
    r = load_result(path)
    assert r.kind == "eval" and r.budget is None and r.data.order_hash is None
    assert set(r.metrics.selected.values) == {"accuracy"}
    assert len((path.parent / "generations" / "step0000000-test.jsonl").read_text().splitlines()) == 4
    assert "eval arith (test, 4 examples)" in capsys.readouterr().out
    assert main(argv) == 2  # a finished result is never overwritten


def test_eval_a_custom_jsonl_task(tmp_path):
    ckpt = exported_mutor_checkpoint(tmp_path / "ckpt")
    data = tmp_path / "data"
    data.mkdir()
    (data / "test.jsonl").write_text("".join(
        json.dumps({"prompt": f"Question: {i} + 1?\n\nAnswer:", "answer": f" {i + 1}"}) + "\n"
        for i in range(5)))
    assert main(["eval", "--model", str(ckpt), "--task", "jsonl", "--set",
                 f"task.local_path={data}", "--set", "task.metric=exact", "--set",
                 f"output_dir={tmp_path / 'out'}", "--set", "eval.max_new_tokens=4"]) == 0
    r = load_result(tmp_path / "out" / "eval-jsonl-ckpt" / "result.json")
    assert r.data.counts["test"]["kept"] == 5 and r.data.task == "jsonl"


def test_eval_missing_model_is_one_clear_error(tmp_path, capsys):
    assert main(["eval", "--model", str(tmp_path / "nope"), "--task", "arith",
                 "--set", f"output_dir={tmp_path / 'out'}", "--set", "task.eval_examples=2",
                 "--set", "task.train_examples=8"]) == 2
    err = capsys.readouterr().err
    assert "cannot load tokenizer" in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists()
