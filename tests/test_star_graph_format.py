"""Bachmann & Nagarajan's star-graph format (task.format: bachmann_nagarajan): their token
sequence on their published test lines (no BOS, no EOS), the loss on the path tokens only, their
teacherless inputs, and generation that stops at the path's length."""

import re
from pathlib import Path

import pytest

from mutorbench.integrations.hf import make_method
from mutorbench.methods.layout import IGNORE_INDEX
from mutorbench.methods.teacherless import build_teacherless_inputs
from mutorbench.models.tokenizer import numeral_tokenizer
from mutorbench.tasks import build_task
from mutorbench.train.config import load_config

PUBLISHED = (Path(__file__).resolve().parents[2] / "shared" / "realdata" / "star_graph"
             / "deg_2_path_5_nodes_50_test_20000.txt")


def their_tokens(line: str) -> list[str]:
    """Their NumeralTokenizer's rule, as their README and code describe it: every number is one
    token, ',' is skipped, every other character is one token."""
    return re.findall(r"\d+|[^\d,]", line.strip())


def task_for(local_path, fmt):
    cfg = load_config(None, ["task.name=star_graph", f"task.local_path={local_path}",
                             "task.graph.degree=2", "task.graph.path_length=5",
                             "task.graph.num_nodes=50", "task.train_examples=20000",
                             "task.eval_examples=20000", f"task.format={fmt}",
                             "tokenizer.kind=numeral"])
    return build_task(cfg.task)


@pytest.mark.skipif(not PUBLISHED.is_file(), reason="../shared/realdata not present")
def test_their_published_test_lines_give_their_token_sequence(tmp_path):
    (tmp_path / PUBLISHED.name).write_text("".join(PUBLISHED.read_text().splitlines(True)[:5]))
    (tmp_path / "deg_2_path_5_nodes_50_train_20000.txt").write_text(
        "".join(PUBLISHED.read_text().splitlines(True)[:5]))
    ours = task_for(tmp_path, "bachmann_nagarajan")
    suite = task_for(tmp_path, "suite")
    tok = numeral_tokenizer(ours.vocabulary())
    examples, _ = ours.examples("test", tok, 256)
    lines = PUBLISHED.read_text().splitlines()[:5]
    for line, ex in zip(lines, examples):
        got = tok.convert_ids_to_tokens([*ex.prompt_ids, *ex.answer_ids])
        assert got == their_tokens(line)  # e.g. 32 3 | 16 12 | ... / 32 12 = 32 34 6 16 12
        assert len(ex.answer_ids) == 5  # the path: source ... goal, no EOS
    plain, _ = suite.examples("test", tok, 256)
    assert tok.convert_ids_to_tokens(plain[0].prompt_ids)[0] == tok.bos_token
    assert plain[0].answer_ids[-1] == tok.eos_token_id
    prompt = lines[0].split("=")[0] + "="
    assert ours.encode_prompts(tok, [prompt])[0] == list(examples[0].prompt_ids)


def test_the_loss_is_on_the_path_tokens_and_teacherless_inputs_are_theirs():
    cfg = load_config(None, ["task.name=star_graph", "task.graph.degree=2",
                             "task.graph.path_length=4", "task.graph.num_nodes=20",
                             "task.train_examples=8", "task.eval_examples=2",
                             "task.format=bachmann_nagarajan", "tokenizer.kind=numeral"])
    task = build_task(cfg.task)
    tok = numeral_tokenizer(task.vocabulary())
    examples, _ = task.examples("train", tok, 256)
    assert task.fixed_answer_tokens == 4 and not task.answer_eos
    ntp = make_method("ntp")
    batch = ntp.build_batch(examples[:3], pad_id=tok.pad_token_id)
    for b, e in enumerate(examples[:3]):
        P = len(e.prompt_ids)
        labelled = (batch.labels[b] != IGNORE_INDEX).nonzero().flatten().tolist()
        # their y: -1 on the prompt but its last token, which predicts the first path node
        assert labelled == list(range(P - 1, P - 1 + 4))
        assert batch.labels[b, labelled].tolist() == list(e.answer_ids)
    e, dummy = examples[0], len(tok)
    P = len(e.prompt_ids)
    tl = build_teacherless_inputs([e.prompt_ids], [e.answer_ids], dummy_id=dummy,
                                  pad_id=tok.pad_token_id)
    # their x: the prompt, then '$' at every path position; their sequence stops before the last
    # path token, ours carries it as one more (unlabelled, causally unseen) slot
    assert tl.input_ids[0, :P].tolist() == list(e.prompt_ids)
    assert tl.input_ids[0, P:].tolist() == [dummy] * 4 and int(tl.lengths[0]) == P + 4
    assert tl.labels[0].tolist() == batch.labels[0, :P + 4].tolist()  # their y, as next-token's


def test_their_format_needs_one_token_per_node():
    """Without EOS the path is cut at path_length tokens: a BPE tokenizer would cut it mid-path."""
    with pytest.raises(ValueError, match="bachmann_nagarajan needs tokenizer.kind numeral"):
        load_config(None, ["task.name=star_graph", "task.format=bachmann_nagarajan"])
    with pytest.raises(ValueError, match="bachmann_nagarajan needs tokenizer.kind numeral"):
        load_config(None, ["task.name=star_graph", "task.format=bachmann_nagarajan",
                           "model.source=pretrained", "model.name_or_path=gpt2"])
