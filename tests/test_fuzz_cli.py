"""Malformed input through the CLI: exit 2, exactly one line on stderr, no traceback, and nothing
created or changed under the working folder (configs, data, specs, results, goldens, checkpoints:
truncated, wrong types, NaN, non-UTF-8, directories where files belong)."""

import hashlib
import json
import textwrap

import pytest
import torch

from mutorbench.cli import main
from tests.runs import base_for

TINY = ["task.train_examples=24", "task.eval_examples=2", "model.hidden_size=32",
        "tokenizer.vocab_size=300", "batch.micro_batch_size=4", "budget.kind=steps",
        "budget.amount=2", "eval.max_new_tokens=4"]
GSM = {"question": "Tom has 2 apples and gets 3 more. How many?", "answer": "2+3=5\n#### 5"}
JSONL = {"prompt": "Reverse abc:", "answer": " cba"}
NOT_UTF8 = b"prompt: \xff\xfe bad bytes\n"
GOLDEN_KEY = "tinytab|tiny|ntp/arith|seed0"


def write_rows(path, rows, tail=""):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) + tail)


def train_argv(tmp, *sets):
    return ["train", "--no-progress", "--set", f"output_dir={tmp / 'out'}", *[
        x for s in [*base_for(sets, TINY), *sets] for x in ("--set", s)]]


def jsonl_task(tmp, train_rows, test_rows=None, tail=""):
    write_rows(tmp / "data" / "train.jsonl", train_rows, tail)
    write_rows(tmp / "data" / "test.jsonl", test_rows or [JSONL] * 4)
    return train_argv(tmp, "task.name=jsonl", f"task.local_path={tmp / 'data'}")


def gsm_task(tmp, train_rows, tail=""):
    write_rows(tmp / "gsm" / "train.jsonl", train_rows, tail)
    write_rows(tmp / "gsm" / "test.jsonl", [GSM] * 4)
    return train_argv(tmp, "task.name=gsm8k", f"task.local_path={tmp / 'gsm'}")


def with_checkpoint(tmp, content):
    run_dir = tmp / "out" / "ntp-seed0"
    run_dir.mkdir(parents=True)
    if content is None:
        (run_dir / "checkpoint.pt").mkdir()
    elif isinstance(content, bytes):
        (run_dir / "checkpoint.pt").write_bytes(content)
    else:
        torch.save(content, run_dir / "checkpoint.pt")
    return train_argv(tmp)


def with_config(tmp, data: bytes):
    (tmp / "run.yaml").write_bytes(data)
    return ["train", "--config", str(tmp / "run.yaml"), "--set", f"output_dir={tmp / 'out'}"]


def with_spec(tmp, text: str | bytes, table="bad"):
    (tmp / "specs").mkdir(exist_ok=True)
    path = tmp / "specs" / f"{table}.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return ["run", table, "--scale", "tiny", "--specs", str(tmp / "specs"),
            "--results", str(tmp / "out"), "--reports", str(tmp / "reports"), "--no-progress"]


SPEC = textwrap.dedent("""
    table: bad
    title: t
    paper: table1
    columns: [{id: arith, overrides: {task: {name: arith}}}]
    rows: [{id: ntp, overrides: {method: {id: ntp}}}, {id: ntp, overrides: {method: {id: ntp}}}]
    scales: {tiny: {seeds: [0]}}
""")


def with_result(tmp, content):
    """A results folder holding one broken result.json, and a valid golden folder."""
    where = tmp / "results" / "t" / "tiny" / "run"
    where.mkdir(parents=True)
    if content is None:
        (where / "result.json").mkdir()
    else:
        (where / "result.json").write_bytes(content)
    return with_golden(tmp, f"cells:\n  {GOLDEN_KEY}: {{values: {{accuracy: 50.0}}}}\n",
                       results=False)


def with_golden(tmp, text: str, *, results=True, extra: str | None = None):
    (tmp / "golden").mkdir()
    (tmp / "golden" / "t-tiny.yaml").write_text(text)
    if extra is not None:
        (tmp / "golden" / "u-tiny.yaml").write_text(extra)
    if results:
        (tmp / "results").mkdir()
        (tmp / "results" / "placeholder.txt").write_text("no result here\n")
    return ["check", "--results", str(tmp / "results"), "--golden", str(tmp / "golden")]


def golden_for_result(tmp, values_yaml: str):
    """A golden file next to a real (minimal, valid) result: the golden is what is malformed."""
    return with_golden(tmp, f"cells:\n  {GOLDEN_KEY}:\n    {values_yaml}\n", results=False) \
        if _copy_result(tmp) else None


def _copy_result(tmp):
    from tests.test_integrity import minimal_result  # one valid result, written by the schema

    minimal_result(tmp / "results" / "tinytab" / "tiny" / "ntp--arith--seed0" / "result.json")
    return True


CASES = {
    # run configs
    "heads-not-dividing": lambda t: train_argv(t, "model.num_heads=5"),
    "kv-heads-not-dividing": lambda t: train_argv(t, "model.num_heads=4", "model.num_kv_heads=3"),
    "budget-inf": lambda t: train_argv(t, "budget.amount=.inf"),
    "budget-nan": lambda t: train_argv(t, "budget.amount=.nan"),
    "lr-negative": lambda t: train_argv(t, "optim.lr=-1"),
    "lr-string": lambda t: train_argv(t, "optim.lr=fast"),
    "unknown-method": lambda t: train_argv(t, "method.id=nope"),
    "unknown-key": lambda t: train_argv(t, "colour=blue"),
    "set-without-equals": lambda t: train_argv(t, "budget.amount"),
    "unknown-task": lambda t: train_argv(t, "task.name=nope"),
    "metric-wrong-case": lambda t: train_argv(t, "task.name=dialogues", "eval.metric=rougel"),
    "metric-of-another-task": lambda t: train_argv(t, "eval.metric=rougeL"),
    "generated-task-with-files": lambda t: train_argv(t, "task.files.train=/nowhere.jsonl"),
    "config-not-utf8": lambda t: with_config(t, NOT_UTF8),
    "config-malformed-yaml": lambda t: with_config(t, b"seed: [1, 2\n"),
    "config-a-list": lambda t: with_config(t, b"- seed\n- 1\n"),
    "config-duplicate-key": lambda t: with_config(t, b"seed: 1\nseed: 2\n"),
    "config-a-directory": lambda t: (t / "cfgdir").mkdir() or ["train", "--config",
                                                               str(t / "cfgdir")],
    # data
    "jsonl-truncated": lambda t: jsonl_task(t, [JSONL] * 30, tail='{"prompt": "Rev'),
    "jsonl-not-utf8": lambda t: (jsonl_task(t, [JSONL] * 30),
                                 (t / "data" / "train.jsonl").write_bytes(NOT_UTF8))[0],
    "jsonl-row-a-list": lambda t: jsonl_task(t, [JSONL] * 30, tail="[1, 2]\n"),
    "jsonl-empty-answer": lambda t: jsonl_task(t, [JSONL] * 30 + [{"prompt": "x", "answer": " "}]),
    "jsonl-answer-a-number": lambda t: jsonl_task(t, [JSONL] * 30 + [{"prompt": "x", "answer": 3}]),
    "jsonl-train-a-directory": lambda t: (jsonl_task(t, [JSONL] * 30),
                                          (t / "data" / "train.jsonl").unlink(),
                                          (t / "data" / "train.jsonl").mkdir())[0],
    "jsonl-test-prompt-too-long": lambda t: jsonl_task(
        t, [JSONL] * 30, [{"prompt": " ".join(f"w{i}q" for i in range(2100)), "answer": " a"}]),
    "gsm8k-truncated": lambda t: gsm_task(t, [GSM] * 30, tail='{"question": "Tom'),
    "gsm8k-empty-answer": lambda t: gsm_task(t, [GSM] * 30 + [{"question": "q", "answer": ""}]),
    "gsm8k-missing-column": lambda t: gsm_task(t, [{"question": "q", "solution": "#### 1"}] * 30),
    "gsm8k-answer-null": lambda t: gsm_task(t, [GSM] * 30 + [{"question": "q", "answer": None}]),
    "star-graph-missing-file": lambda t: (t / "graphs").mkdir() or train_argv(
        t, "task.name=star_graph", f"task.local_path={t / 'graphs'}", "tokenizer.kind=numeral"),
    # checkpoints in an existing run folder
    "checkpoint-truncated": lambda t: with_checkpoint(t, b"PK\x03\x04 truncated zip"),
    "checkpoint-empty": lambda t: with_checkpoint(t, b""),
    "checkpoint-foreign": lambda t: with_checkpoint(t, {"weights": torch.zeros(3)}),
    "checkpoint-a-directory": lambda t: with_checkpoint(t, None),
    # table specs
    "spec-duplicate-row-ids": lambda t: with_spec(t, SPEC),
    "spec-not-utf8": lambda t: with_spec(t, NOT_UTF8),
    "spec-unknown-metric-key": lambda t: with_spec(t, SPEC.replace(
        "{id: arith, overrides: {task: {name: arith}}}",
        "{id: arith, overrides: {task: {name: arith}}, paper: {acuracy: gsm8k@gsm8k}}").replace(
        "{id: ntp, overrides: {method: {id: ntp}}}]", "{id: mutor, overrides: {}}]")),
    "spec-rows-not-a-list": lambda t: with_spec(t, SPEC.replace("rows: [{id: ntp",
                                                                "rows: 5\nmore: [{id: ntp", 1)),
    "spec-unknown-table": lambda t: ["run", "nope", *with_spec(t, SPEC)[2:]],
    "report-missing-results": lambda t: ["report", "table2", "--scale", "tiny", "--results",
                                         str(t / "nowhere"), "--reports", str(t / "reports")],
    # result files
    "result-a-directory": lambda t: with_result(t, None),
    "result-truncated": lambda t: with_result(t, b'{"schema_version": 1, "kind": "tr'),
    "result-not-utf8": lambda t: with_result(t, b'{"schema_version": "\xff"}'),
    "result-wrong-type": lambda t: with_result(t, b'{"schema_version": "one"}'),
    # golden files
    "golden-values-a-string": lambda t: golden_for_result(t, "values: abc"),
    "golden-values-a-list": lambda t: golden_for_result(t, "values: [1, 2]"),
    "golden-tolerance-null": lambda t: golden_for_result(t, "{values: {accuracy: 1.0}, tolerance: null}"),
    "golden-values-empty": lambda t: golden_for_result(t, "values: {}"),
    "golden-value-nan": lambda t: golden_for_result(t, "values: {accuracy: .nan}"),
    "golden-tolerance-negative": lambda t: golden_for_result(
        t, "{values: {accuracy: 1.0}, tolerance: {accuracy: -1}}"),
    "golden-not-utf8": lambda t: (golden_for_result(t, "values: {accuracy: 1.0}"),
                                  (t / "golden" / "t-tiny.yaml").write_bytes(NOT_UTF8))[0],
    "golden-duplicate-across-files": lambda t: (
        _copy_result(t),
        with_golden(t, f"cells:\n  {GOLDEN_KEY}: {{values: {{accuracy: 1.0}}}}\n", results=False,
                    extra=f"cells:\n  {GOLDEN_KEY}: {{values: {{accuracy: 2.0}}}}\n"))[1],
    "golden-compares-nothing": lambda t: (
        _copy_result(t),
        with_golden(t, "cells:\n  other|tiny|ntp/x|seed0: {values: {accuracy: 1.0}}\n",
                    results=False))[1],
    # eval
    "eval-limit-zero": lambda t: ["eval", "--model", str(t / "m"), "--task", "arith", "--limit",
                                  "0", "--set", f"output_dir={t / 'out'}"],
    "eval-missing-model": lambda t: ["eval", "--model", str(t / "no-model"), "--task", "arith",
                                     "--set", f"output_dir={t / 'out'}"],
}


def tree_state(root):
    """Every path under root with its content hash (folders: None)."""
    return {str(p.relative_to(root)): (hashlib.sha256(p.read_bytes()).hexdigest()
                                       if p.is_file() else None)
            for p in sorted(root.rglob("*"))}


def test_there_are_at_least_thirty_cases():
    assert len(CASES) >= 30


@pytest.mark.parametrize("case", sorted(CASES))
def test_malformed_input_is_one_line_and_exit_2(case, tmp_path, capsys):
    argv = CASES[case](tmp_path)
    before = tree_state(tmp_path)
    code = main(argv)  # an escaping exception (a traceback) fails the test
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert code == 2, (code, err)
    assert len(lines) == 1 and lines[0].startswith("mutor-bench: error: "), err
    assert "Traceback" not in err
    # the case fails for its own reason, not on a key its base config should not have had
    assert ("unknown key" in err) == (case in ("unknown-key", "generated-task-with-files")), err
    assert tree_state(tmp_path) == before, "a malformed input created or changed files"
