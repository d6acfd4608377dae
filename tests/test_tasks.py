"""Real-data tasks: hub loading fails clearly offline, local copies work end to end, custom JSONL."""

import json

import pytest

from mutorbench.cli import main
from mutorbench.results import load_result
from mutorbench.tasks.gsm8k import GSM8KTask
from mutorbench.tasks.jsonl import JsonlTask
from mutorbench.train.loop import train
from tests.runs import tiny_run

GSM_ROWS = [
    {"question": f"Tom has {a} apples and gets {b} more. How many apples does he have?",
     "answer": f"He has {a} + {b} = <<{a}+{b}={a + b}>>{a + b} apples.\n#### {a + b}"}
    for a in range(1, 9) for b in range(1, 7)
]


def write_jsonl(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


@pytest.fixture
def gsm8k_copy(tmp_path):
    """A small local copy in the hub's file layout (question/answer columns)."""
    root = tmp_path / "gsm8k"
    write_jsonl(root / "main" / "train.jsonl", GSM_ROWS[:40])
    write_jsonl(root / "main" / "test.jsonl", GSM_ROWS[40:])
    return root


def test_gsm8k_offline_without_a_copy_is_one_clear_error(tmp_path, capsys):
    with pytest.raises(ValueError, match="cannot load dataset 'openai/gsm8k' \\(main\\) split 'train'"):
        GSM8KTask().texts("train")
    code = main(["train", "--set", "task.name=gsm8k", "--set", f"output_dir={tmp_path / 'o'}"])
    err = capsys.readouterr().err
    assert code == 2 and "--set task.local_path=DIR" in err and err.count("\n") == 1
    assert not (tmp_path / "o").exists()


def test_gsm8k_template_and_local_copy_end_to_end(tmp_path, gsm8k_copy):
    task = GSM8KTask(local_path=str(gsm8k_copy))
    prompt, answer = task.texts("train")[0]
    assert prompt == f"Question: {GSM_ROWS[0]['question']}\n\nAnswer:"
    assert answer == " " + GSM_ROWS[0]["answer"]
    assert len(task.texts("test")) == 8
    path = train(tiny_run(tmp_path / "runs", "mutor", "task.name=gsm8k",
                          f"task.local_path={gsm8k_copy}", "budget.amount=1"), progress=False)
    r = load_result(path)
    assert r.data.sources["dataset"] == "openai/gsm8k"
    assert r.data.counts["train"]["kept"] == 40
    assert 0.0 <= r.metrics.selected.values["accuracy"] <= 100.0


def test_custom_jsonl_task_end_to_end(tmp_path):
    rows = [{"prompt": f"Reverse {w}:", "answer": " " + w[::-1]}
            for w in ["abc", "tree", "stone", "river", "cloud", "light", "sand", "wind"] * 5]
    write_jsonl(tmp_path / "data" / "train.jsonl", rows)
    write_jsonl(tmp_path / "data" / "test.jsonl", rows[:4])
    path = train(tiny_run(tmp_path / "runs", "ntp", "task.name=jsonl",
                          f"task.local_path={tmp_path / 'data'}", "task.metric=exact",
                          "budget.amount=1"), progress=False)
    r = load_result(path)
    assert r.data.task == "jsonl" and set(r.metrics.selected.values) == {"accuracy"}


@pytest.mark.parametrize(
    "content,message",
    [
        ('{"prompt": "a", "answer": "b"}\n{bad json\n', "test.jsonl:2: not valid JSON"),
        ('{"prompt": "a"}\n', "needs string fields 'prompt' and 'answer'"),
        ('{"prompt": "a", "answer": "  "}\n', "test.jsonl:1: empty answer"),
        ("\n", "no examples"),
    ],
)
def test_jsonl_bad_files(tmp_path, content, message):
    (tmp_path / "test.jsonl").write_text(content)
    with pytest.raises(ValueError, match=message):
        JsonlTask(local_path=str(tmp_path)).texts("test")


def test_jsonl_missing_path_and_unknown_metric(tmp_path, capsys):
    with pytest.raises(ValueError, match="needs task.local_path"):
        JsonlTask().texts("train")
    with pytest.raises(ValueError, match="train.jsonl not found"):
        JsonlTask(local_path=str(tmp_path)).texts("train")
    assert main(["train", "--set", "task.metric=bleu", "--set", f"output_dir={tmp_path}/o"]) == 2
    assert "unknown metric 'bleu'" in capsys.readouterr().err


def test_openmath_splits_follow_the_paper(tmp_path):
    from mutorbench.tasks.openmath import OneMGSM, OneMMATH

    rows = [{"problem": f"p{i}", "generated_solution": f"s{i} \\boxed{{{i}}}", "problem_source": src}
            for i, src in enumerate(["gsm8k", "augmented_gsm8k", "math", "augmented_math",
                                     "gsm8k", "other"])]
    write_jsonl(tmp_path / "train_1M.jsonl", rows)
    write_jsonl(tmp_path / "test.jsonl", [{"question": "q", "answer": "a\n#### 3",
                                           "problem": "mp", "solution": "x", "unique_id": "u"}])
    gsm = OneMGSM(local_path=str(tmp_path))
    assert [p for p, _ in gsm.texts("train")] == ["Question: p0\n\nAnswer:",
                                                   "Question: p1\n\nAnswer:",
                                                   "Question: p4\n\nAnswer:"]
    assert gsm.texts("train")[0][1] == " s0 \\boxed{0}"
    assert gsm.texts("test") == [("Question: q\n\nAnswer:", " a\n#### 3")]
    assert gsm.metric == "gsm8k_boxed"
    math = OneMMATH(local_path=str(tmp_path))
    assert sorted(p for p, _ in math.texts("train")) == ["Question: p2\n\nAnswer:",
                                                         "Question: p3\n\nAnswer:"]
    assert math.metric == "math"


def test_math500_aqua_and_summarization_templates(tmp_path):
    from mutorbench.tasks.aqua import AquaTask
    from mutorbench.tasks.math500 import MATH500Task
    from mutorbench.tasks.summarization import SAMSumTask

    write_jsonl(tmp_path / "m" / "test.jsonl", [{"problem": "Find x.", "answer": "\\frac{1}{2}"}])
    assert MATH500Task(local_path=str(tmp_path / "m")).texts("test") == [
        ("Question: Find x.\n\nAnswer:", "\\frac{1}{2}")]
    write_jsonl(tmp_path / "a" / "train.jsonl", [{
        "question": "2+2?", "options": ["A)3", "B)4", "C)5", "D)6", "E)7"],
        "rationale": "2+2=4", "correct": "B"}])
    assert AquaTask(local_path=str(tmp_path / "a")).texts("train") == [
        ("Question: 2+2?\nOptions: A)3 B)4 C)5 D)6 E)7\n\nAnswer:", " 2+2=4\n#### B")]
    write_jsonl(tmp_path / "s" / "validation.jsonl",
                [{"id": "1", "dialogue": "A: hi\nB: hello", "summary": "They greet. "}])
    assert SAMSumTask(local_path=str(tmp_path / "s")).texts("validation") == [
        ("Dialogue:\nA: hi\nB: hello\n\nSummary:", " They greet.")]
    with pytest.raises(ValueError, match="has splits train, validation, test, not 'dev'"):
        SAMSumTask(local_path=str(tmp_path / "s")).texts("dev")


def test_generated_dialogues_follow_the_samsum_template():
    from mutorbench.tasks.dialogues import DialoguesTask

    task = DialoguesTask(train_examples=30, eval_examples=5)
    assert task.texts("train") == DialoguesTask(train_examples=30, eval_examples=5).texts("train")
    assert len(task.texts("validation")) == len(task.texts("test")) == 5
    prompt, summary = task.texts("test")[0]
    assert prompt.startswith("Dialogue:\n") and prompt.endswith("\n\nSummary:")
    speakers = {line.split(":")[0] for line in prompt.split("\n")[1:-2]}
    assert len(speakers) == 2 and any(name in summary for name in speakers)  # facts are copied
    assert summary.startswith(" ") and summary.endswith(".")
    assert set(task.texts("test")).isdisjoint(task.texts("validation"))


def test_1m_gsm_extra_is_1m_gsm_plus_four_tenths_of_it_from_2m_gsm(tmp_path):
    """Table 3's data: every 1M-GSM example in order, then round(0.4 x) 2M-GSM examples that
    are not in 1M-GSM (seeded shuffle), grade-school sources only; deterministic."""
    from mutorbench.tasks.openmath import OneMGSM, OneMGSMExtra

    def row(i, src="gsm8k"):
        return {"problem": f"p{i}", "generated_solution": f"s{i} \\boxed{{{i}}}",
                "problem_source": src}

    one_m = [row(i) for i in range(10)] + [row(100, "math")]
    two_m = one_m + [row(i) for i in range(10, 30)] + [row(200 + i, "math") for i in range(20)]
    write_jsonl(tmp_path / "train_1M.jsonl", one_m)
    write_jsonl(tmp_path / "train_2M.jsonl", two_m)
    write_jsonl(tmp_path / "test.jsonl", [{"question": "q", "answer": "a\n#### 3"}])
    base = OneMGSM(local_path=str(tmp_path)).texts("train")
    extra = OneMGSMExtra(local_path=str(tmp_path)).texts("train")
    assert len(base) == 10 and len(extra) == 14  # 10 + round(0.4 * 10)
    assert extra[:10] == base
    added = {p for p, _ in extra[10:]}
    assert added <= {f"Question: p{i}\n\nAnswer:" for i in range(10, 30)}  # new, grade-school
    assert OneMGSMExtra(local_path=str(tmp_path)).texts("train") == extra  # seeded, not random
    assert OneMGSMExtra(local_path=str(tmp_path)).texts("test") == OneMGSM(
        local_path=str(tmp_path)).texts("test")
    sources = OneMGSMExtra(local_path=str(tmp_path)).sources()
    assert sources["datasets"]["train_2m"]["split"] == "train_2M" and "0.4" in sources["extra_rule"]
    write_jsonl(tmp_path / "small" / "train_1M.jsonl", one_m)
    write_jsonl(tmp_path / "small" / "train_2M.jsonl", one_m + [row(10)])
    with pytest.raises(ValueError, match="2M-GSM has 1 examples that are not in 1M-GSM; the rule "
                       "needs 4"):
        OneMGSMExtra(local_path=str(tmp_path / "small")).texts("train")
