"""The register probe (methods/register_probe.py): which register it reads, what it scores, and
which offset a MuToR arm is probed with."""

from types import SimpleNamespace

import pytest
import torch

from mutorbench.methods.mutor import MuToR, build_mutor_inputs
from mutorbench.methods.register_probe import register_hits, register_position
from mutorbench.models.tokenizer import numeral_tokenizer
from mutorbench.tasks.star_graph import StarGraphTask


def star_examples(n=6, path_length=5, fmt="bachmann_nagarajan"):
    task = StarGraphTask(train_examples=2, eval_examples=n, degree=2, path_length=path_length,
                         num_nodes=20, format=fmt)
    tok = numeral_tokenizer(task.vocabulary())
    return task, tok, task.scoring_examples(tok, task.texts("test"))


@pytest.mark.parametrize("d", [1, 2, 3, 4])
def test_register_position_is_the_layouts_register_aimed_at_the_target(d):
    _, tok, examples = star_examples()
    reg = len(tok)
    batch = build_mutor_inputs([e.prompt_ids for e in examples], [e.answer_ids for e in examples],
                               offsets=[d] * len(examples), register_id=reg,
                               pad_id=tok.pad_token_id, prefix_attention="causal")
    for b, e in enumerate(examples):
        for target in range(d - 1, len(e.answer_ids)):
            slot = register_position(len(e.prompt_ids), target, d)
            assert batch.input_ids[b, slot] == reg and batch.is_register[b, slot]
            assert batch.labels[b, slot] == e.answer_ids[target]
            # it sees the prompt, the answer tokens before it (j = target - d + 1) and itself
            seen = (batch.attention_mask[b, 0, slot] == 0).nonzero().flatten().tolist()
            regular = [s for s in seen if not batch.is_register[b, s]]
            assert len(regular) == len(e.prompt_ids) + target - d + 1 and slot in seen
    with pytest.raises(ValueError, match="no register with offset d=3 predicts answer token 1"):
        register_position(10, 1, 3)


def test_register_hits_score_the_argmax_at_that_register_only():
    _, tok, examples = star_examples(n=8)
    reg = len(tok)
    target, d = 1, 2  # the decisive node, from the register that sees only the prompt
    guess = examples[0].answer_ids[target]

    class Constant(torch.nn.Module):  # the same token everywhere but at register slots
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(1))

        def forward(self, input_ids, position_ids, attention_mask):
            logits = torch.zeros(*input_ids.shape, reg + 1)
            logits[..., 0] = 1.0
            logits[input_ids == reg] = torch.nn.functional.one_hot(torch.tensor(guess),
                                                                   reg + 1).float()
            return SimpleNamespace(logits=logits)

    hits = register_hits(Constant(), examples, target=target, d=d, register_id=reg,
                         pad_id=tok.pad_token_id, prefix_attention="causal", batch_size=3)
    assert hits == [e.answer_ids[target] == guess for e in examples] and hits[0]
    assert not all(hits)  # the graphs differ, so one constant guess cannot be right on all
    with pytest.raises(ValueError, match="no token 7 to probe"):
        register_hits(Constant(), examples, target=7, d=2, register_id=reg,
                      pad_id=tok.pad_token_id, prefix_attention="causal")


@pytest.mark.parametrize("d_min,d_max,target,want", [
    (2, 4, 1, 2),  # decisive node: only d = 2 aims at it from before the source
    (2, 4, 3, 4),  # G(2,5)'s parent(goal): the prompt-only register of d = 4
    (2, 4, 2, 3),
    (2, 2, 2, 2),  # d = 2 only: the register after the source
    (3, 4, 1, None),  # no trained register aims at the decisive node
])
def test_probe_offset_is_the_register_that_sees_the_fewest_answer_tokens(d_min, d_max, target,
                                                                          want):
    assert MuToR(d_min=d_min, d_max=d_max).probe_offset(target) == want


def test_star_graph_probe_targets_are_the_decisive_node_and_the_goals_parent():
    for path_length in (4, 5):
        task, tok, examples = star_examples(path_length=path_length)
        t = task.probe_targets
        assert t == {"decisive": 1, "parent_goal": path_length - 2}
        for e, (prompt, path) in zip(examples, task.texts("test")):
            nodes = path.split(",")
            goal = nodes[-1]
            edges = [x.split(",") for x in prompt.split("/")[0].split("|")]
            parent = next(u for u, v in edges if v == goal)
            answer = tok.convert_ids_to_tokens(list(e.answer_ids))
            assert answer[t["parent_goal"]] == parent and answer[t["decisive"]] == nodes[1]
