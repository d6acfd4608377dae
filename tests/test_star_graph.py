"""Star graph (Fig. 4): generator, numeral tokenizer, scorer, teacherless training and decoding."""

import json
import random
from types import SimpleNamespace

import pandas as pd
import pytest
import torch

from mutorbench.evaluation.evaluator import get_scorer
from mutorbench.methods.layout import IGNORE_INDEX
from mutorbench.methods.teacherless import build_teacherless_inputs, parallel_generate
from mutorbench.models.tokenizer import numeral_tokenizer
from mutorbench.tasks.star_graph import (
    StarGraphTask,
    format_path,
    format_prompt,
    make_graph,
    read_published,
)


def parse_prompt(prompt: str):
    edges, query = prompt.rstrip("=").split("/")
    s, g = (int(x) for x in query.split(","))
    return [tuple(int(x) for x in e.split(",")) for e in edges.split("|")], s, g


def walk(edges, source, goal):
    """The path from source to goal by following edges (None if not unique or missing)."""
    out = {}
    for u, v in edges:
        out.setdefault(u, []).append(v)
    paths, stack = [], [(source,)]
    while stack:
        path = stack.pop()
        if path[-1] == goal:
            paths.append(path)
        stack += [(*path, v) for v in out.get(path[-1], [])]
    return paths[0] if len(paths) == 1 else None


@pytest.mark.parametrize("degree,path_length,num_nodes", [(2, 4, 20), (3, 5, 50), (5, 2, 6)])
def test_graph_structure_and_answer_path(degree, path_length, num_nodes):
    rng = random.Random(0)
    for _ in range(50):
        g = make_graph(rng, degree, path_length, num_nodes)
        edges, s, goal = parse_prompt(format_prompt(g))
        assert len(edges) == degree * (path_length - 1)
        assert sum(u == s for u, _ in edges) == degree  # the source has `degree` arms
        nodes = {x for e in edges for x in e}
        assert len(nodes) == 1 + degree * (path_length - 1) and max(nodes) < num_nodes
        assert all(sum(u == n for u, _ in edges) <= 1 for n in nodes - {s})  # arms do not branch
        path = walk(edges, s, goal)
        assert path is not None and len(path) == path_length  # a unique path of the right length
        assert format_path(g.path) == ",".join(map(str, path))
        leaves = {v for _, v in edges} - {u for u, _ in edges}
        assert goal in leaves and len(leaves) == degree


def test_impossible_configuration_is_one_clear_error():
    with pytest.raises(ValueError, match=r"num_nodes >= 9 \(1 \+ degree \* \(path_length - 1\)\)"):
        make_graph(random.Random(0), 2, 5, 8)


def test_splits_disjoint_deterministic_and_answers_correct():
    task = StarGraphTask(data_seed=3, train_examples=400, eval_examples=50, degree=2,
                         path_length=4, num_nodes=20)
    train, test, val = (task.texts(s) for s in ("train", "test", "validation"))
    assert (len(train), len(test), len(val)) == (400, 50, 50)
    assert not {p for p, _ in train} & {p for p, _ in test + val}
    assert len({p for p, _ in test + val}) == 100
    for prompt, answer in train[:50] + test:
        edges, s, g = parse_prompt(prompt)
        assert answer == ",".join(map(str, walk(edges, s, g)))
    again = StarGraphTask(data_seed=3, train_examples=400, eval_examples=50, degree=2,
                          path_length=4, num_nodes=20)
    assert again.texts("train") == train and again.texts("test") == test
    other = StarGraphTask(data_seed=4, train_examples=400, eval_examples=50, degree=2,
                          path_length=4, num_nodes=20)
    assert other.texts("train") != train
    # the decisive node (after the source) is uniform over the arms: half the goals per arm
    first_steps = [parse_prompt(p)[0].index((int(a.split(",")[0]), int(a.split(",")[1])))
                   for p, a in train]
    assert len(set(first_steps)) > 1


def test_published_files_are_read_with_their_names(tmp_path):
    (tmp_path / "deg_2_path_3_nodes_10_train_2.txt").write_text("1,2|0,1|0,3|3,4/0,2=0,1,2\n"
                                                                "5,6|6,7|5,8|8,9/5,9=5,8,9\n")
    (tmp_path / "deg_2_path_3_nodes_10_test_1.txt").write_text("1,2|0,1|0,3|3,4/0,4=0,3,4\n")
    task = StarGraphTask(train_examples=2, eval_examples=1, degree=2, path_length=3, num_nodes=10,
                         local_path=str(tmp_path))
    assert task.texts("train")[1] == ("5,6|6,7|5,8|8,9/5,9=", "5,8,9")
    assert task.texts("test") == [("1,2|0,1|0,3|3,4/0,4=", "0,3,4")]
    # their files have no validation split: tuning on the test file is refused, not done
    with pytest.raises(ValueError, match="train and test only; set task.files.validation"):
        task.texts("validation")
    val = StarGraphTask(train_examples=2, eval_examples=1, degree=2, path_length=3, num_nodes=10,
                        local_path=str(tmp_path),
                        files={"validation": str(tmp_path / "deg_2_path_3_nodes_10_train_2.txt")})
    assert val.texts("validation") == task.texts("train")
    missing = StarGraphTask(train_examples=3, eval_examples=1, degree=2, path_length=3,
                            num_nodes=10, local_path=str(tmp_path))
    with pytest.raises(ValueError, match="deg_2_path_3_nodes_10_train_3.txt not found"):
        missing.texts("train")
    (tmp_path / "bad.txt").write_text("no separator here\n")
    with pytest.raises(ValueError, match="bad.txt:1: expected 'edges/source,goal=path'"):
        read_published(tmp_path / "bad.txt")


def test_numeral_tokenizer_one_token_per_node_and_exact_round_trip():
    task = StarGraphTask(train_examples=4, eval_examples=2, degree=2, path_length=4, num_nodes=20)
    tok = numeral_tokenizer(task.vocabulary())
    assert len(tok) == 4 + 20 + 3  # specials, node ids, '|' '/' '=' (commas are not tokens)
    prompt, answer = task.texts("train")[0]
    ids = tok(prompt + answer)["input_ids"]
    pieces = tok.convert_ids_to_tokens(ids)[1:]  # after BOS
    assert ",".join(pieces).replace(",|,", "|").replace(",/,", "/").replace(",=,", "=") \
        == prompt + answer and all(p in task.vocabulary() for p in pieces)
    # 6 edges "u v", 5 '|', '/', "s g", '=', then the 4 path nodes: one token each
    assert len(pieces) == 6 * 2 + 5 + 1 + 2 + 1 + 4
    assert len(tok(answer)["input_ids"][1:]) == 4  # MuToR's offset d counts path nodes
    assert tok.decode(ids, skip_special_tokens=True) == prompt + answer
    assert tok("13,7|2")["input_ids"][1:] == [tok.convert_tokens_to_ids(t) for t in ("13", "7", "|", "2")]
    assert tok.decode(tok("13,7,2")["input_ids"][1:]) == "13,7,2"


def test_star_path_scorer_solve_rate_and_decisive_token():
    score = get_scorer("star_path")
    metrics, details = score(["3,8,9,1", "3,8,2,1", "3,5,9,1", "", "3,8,9,1,4"],
                             ["3,8,9,1"] * 5)
    assert metrics == {"solve_rate": 20.0, "decisive_accuracy": 60.0}
    assert [d["correct"] for d in details] == [True, False, False, False, False]
    assert [d["decisive_correct"] for d in details] == [True, True, False, False, True]


def test_teacherless_inputs_replace_answer_inputs_and_keep_next_token_labels():
    batch = build_teacherless_inputs([[1, 5, 6], [1, 7]], [[8, 9, 2], [10, 2]], dummy_id=99,
                                     pad_id=0)
    assert batch.input_ids.tolist() == [[1, 5, 6, 99, 99, 99], [1, 7, 99, 99, 0, 0]]
    I = IGNORE_INDEX
    assert batch.labels.tolist() == [[I, I, 8, 9, 2, I], [I, 10, 2, I, I, I]]


class PositionEcho(torch.nn.Module):
    """A fake LM: at each position, the argmax is 20 + position id, and it records its inputs."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))
        self.calls = []

    def forward(self, input_ids, position_ids, attention_mask):
        self.calls.append(input_ids.clone())
        logits = torch.nn.functional.one_hot(position_ids + 20, 40).float() + self.w
        return SimpleNamespace(logits=logits)


def test_parallel_decoding_on_a_hand_made_example():
    model = PositionEcho()
    outs = parallel_generate(model, [[1, 5, 6], [1, 7]], max_new_tokens=4, eos_id=24, pad_id=0,
                             dummy_id=3)
    assert len(model.calls) == 1  # one forward for the whole answer
    assert model.calls[0].tolist() == [[1, 5, 6, 3, 3, 3, 3], [1, 7, 3, 3, 3, 3, 0]]
    # answer token j is read at position len(prompt) - 1 + j; EOS (24) ends the first row
    assert outs == [[22, 23], [21, 22, 23]]
    with_suppressed = parallel_generate(model, [[1, 7]], max_new_tokens=2, eos_id=24, pad_id=0,
                                        dummy_id=3, suppress_ids=[21])
    assert with_suppressed[0][0] != 21


def test_teacherless_run_end_to_end_with_export(tmp_path):
    from transformers import AutoModelForCausalLM

    from mutorbench.results import load_result
    from mutorbench.train.config import load_config
    from mutorbench.train.loop import train

    cfg = load_config(None, [
        "task.name=star_graph", "task.graph.degree=2", "task.graph.path_length=3",
        "task.graph.num_nodes=12", "task.train_examples=32", "task.eval_examples=8",
        "tokenizer.kind=numeral", "model.hidden_size=32", "batch.micro_batch_size=8",
        "budget.kind=steps", "budget.amount=4", "eval.max_new_tokens=6", "method.id=teacherless",
        "export=true", f"output_dir={tmp_path}"])
    r = load_result(train(cfg, progress=False))
    values = r.metrics.selected.values
    assert set(values) == {"solve_rate", "decisive_accuracy", "token_accuracy"}
    assert all(0 <= v <= 100 for v in values.values())
    exported = AutoModelForCausalLM.from_pretrained(tmp_path / "teacherless-seed0" / "model")
    assert exported.config.vocab_size == 4 + 12 + 3  # the dummy row is gone


def test_token_accuracy_reads_the_true_prefix():
    """A model that predicts the true next token everywhere scores 100 on the path tokens."""
    from mutorbench.evaluation.teacher_forced import token_accuracies

    task = StarGraphTask(train_examples=2, eval_examples=3, degree=2, path_length=3, num_nodes=10)
    tok = numeral_tokenizer(task.vocabulary())
    pairs = task.texts("test")

    class Oracle(torch.nn.Module):  # predicts the true next token at every answer position
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(1))

        def forward(self, input_ids, position_ids, attention_mask):
            target = torch.roll(input_ids, -1, dims=1)
            return SimpleNamespace(logits=torch.nn.functional.one_hot(target, len(tok)).float())

    examples = task.scoring_examples(tok, pairs)
    assert token_accuracies(Oracle(), tok, examples) == [100.0] * 3

    # teacherless is scored on its own inputs: dummies, so reading the next input never helps
    dummy = len(tok)
    calls = []

    class Recorder(Oracle):
        def forward(self, input_ids, position_ids, attention_mask):
            calls.append(input_ids.clone())
            return super().forward(input_ids.clamp(max=len(tok) - 1), position_ids, attention_mask)

    def own(prompts, answers, **kw):
        return build_teacherless_inputs(prompts, answers, dummy_id=dummy, **kw)

    assert token_accuracies(Recorder(), tok, examples, build_inputs=own) == [0.0] * 3
    ids = calls[0][0].tolist()
    n_prompt = len(tok(pairs[0][0])["input_ids"])
    assert ids[n_prompt:] == [dummy] * (len(ids) - n_prompt)  # path - EOS: all dummies


def test_fig4_paper_scale_lists_the_papers_setting(capsys):
    from mutorbench.cli import main

    assert main(["run", "fig4", "--scale", "paper", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "name_or_path: openai-community/gpt2-large" in out
    from mutorbench.spec import expand, load_spec

    cells = {c.id: c for c in expand(load_spec("fig4"), "paper")}
    run = [c for c in cells.values() if c.status == "run"]
    assert {c.config.task.graph.path_length for c in run} == {5, 10}  # the paper's two lengths
    mutor = {c.config.task.graph.path_length: (c.config.method.d_min, c.config.method.d_max,
                                               c.config.method.a)
             for c in run if c.row == "mutor"}
    assert mutor == {5: (2, 4, 0.5), 10: (2, 6, 0.3)}  # d in {2..d_max}: paper App. A.3
    assert cells["ntp/G(2,4)/seed42"].status == "not_run"  # tiny scale's graph only
    assert {c.seed for c in run} == {42, 43, 44}
    # Bachmann & Nagarajan's code is a plain causal GPT-2: no bidirectional prompt at either scale
    tiny = [c for c in expand(load_spec("fig4"), "tiny") if c.status == "run"]
    full = [c for c in expand(load_spec("fig4"), "tiny_full") if c.status == "run"]
    assert {c.config.method.prefix_attention for c in run + tiny + full} == {"causal"}
    # tiny (<= 60 min on 2 cores): the positive-control graph only; tiny_full adds longer ones
    assert {c.column for c in tiny} == {"G(2,3)"} and len(tiny) == 4 * 3
    assert {c.row for c in tiny} == {"ntp", "mutor", "mutor_d23", "teacherless"}
    assert {c.column for c in full} == {"G(2,3)", "G(2,4)", "G(2,5)"}
    assert len(full) == 4 * 3 * 3 + 2 * 3  # + mutor_d2 on the two longer graphs
    d2 = {(c.config.method.d_min, c.config.method.d_max) for c in full if c.row == "mutor_d2"}
    assert d2 == {(2, 2)} and not any(c.row == "mutor_d2" for c in run + tiny)  # opt-in ablation
    # MuToR's d <= path - 1 at tiny scales (every register has a target); the paper's at paper
    dmax = {(c.column, c.config.method.d_max) for c in tiny + full if c.row == "mutor"}
    assert dmax == {("G(2,3)", 2), ("G(2,4)", 3), ("G(2,5)", 4)}
    # tiny_full extends tiny's base (a YAML merge): same model and optimiser, longer budget
    t, f = tiny[0].config, full[0].config
    assert (f.model, f.optim, f.batch, f.task.format) == (t.model, t.optim, t.batch, t.task.format)
    assert (t.budget.amount, f.budget.amount) == (1000, 12000) and t.eval.every_steps == 250
    # honest tuning: curves and choices on validation graphs, the test graphs for the table only;
    # >= 1,000 graphs each; Bachmann & Nagarajan's format and optimiser (their train.py)
    assert (t.eval.select_split, t.eval.report_split, t.task.eval_examples) == (
        "validation", "test", 1000)
    assert t.task.format == "bachmann_nagarajan" and t.model.arch == "gpt2"
    assert (t.optim.lr, t.optim.betas, t.optim.weight_decay, t.optim.schedule) == (
        1e-3, (0.9, 0.999), 0.0, "constant")


def test_fig4_pipeline_on_a_reduced_tiny_run(tmp_path):
    """The pipeline only (not the effect): every arm trains, the report has seeds and chance."""
    from mutorbench.bench.runner import run_table

    run_table("fig4", scale="tiny", only="*/G(2,3)/seed[01]", progress=False,
              output_root=str(tmp_path / "r"), reports_root=str(tmp_path / "rep"),
              overrides=["task.train_examples=32", "task.eval_examples=8", "budget.kind=steps",
                         "budget.amount=3", "model.hidden_size=32", "model.num_layers=2",
                         "batch.micro_batch_size=8",
                         "eval.every_steps=1"])
    md = (tmp_path / "rep" / "fig4.md").read_text()
    for row in ("ntp", "mutor", "mutor_d23", "teacherless", "multi_token"):
        assert f"| {row} " in md
    assert "(n=2)" in md  # seeds 0 and 1 of 3 in this reduced run
    # learning curves: every evaluation of every cell, per seed in the csv, mean [min, max] in md
    curves = pd.read_csv(tmp_path / "rep" / "fig4-curves.csv")
    assert len(curves) == 4 * 2 * 3 and set(curves["step"]) == {1, 2, 3}
    assert set(curves["metric"]) == {"solve_rate"} and set(curves["seed"]) == {0, 1}
    assert set(curves["split"]) == {"validation"}  # the curves never read the test graphs
    assert "## Learning curves" in md and "### G(2,3): solve_rate on validation" in md
    ntp = curves[(curves["row"] == "ntp") & (curves["step"] == 3)]["value"]
    assert f"{ntp.mean():.1f} [{ntp.min():.1f}, {ntp.max():.1f}] (n=2)" in md
    assert (tmp_path / "rep" / "fig4-curves.png").stat().st_size > 10_000
    assert "| G(2,5)" in md and "not run" in md  # G(2,5): tiny_full and paper; G(2,10): paper
    from mutorbench.report.tables import collect, plotted_columns
    from mutorbench.spec import load_spec

    frame = collect("fig4", "tiny", results_root=str(tmp_path / "r"))
    assert [c.id for c in plotted_columns(frame, load_spec("fig4"))] == ["G(2,3)"]  # no empty bars
    assert "The paper gives no numbers here" in md and "Chance" in md
    assert "(n=2)" in md and (tmp_path / "rep" / "fig4.png").stat().st_size > 10_000  # forest
    assert (tmp_path / "rep" / "fig4-seeds.png").stat().st_size > 10_000
    assert "## The paper's claims on this table" in md and "fig4 G(2,3): mutor > ntp" in md
    # the register diagnostic: MuToR cells only, on every evaluation, per example in the log
    from mutorbench.results import load_result

    cells = tmp_path / "r" / "fig4" / "tiny"
    mutor = load_result(cells / "mutor--G(2,3)--seed0" / "result.json")
    probes = {"register_decisive_accuracy", "register_parent_goal_accuracy"}
    assert all(probes <= set(cp.values) for cp in mutor.metrics.checkpoints)
    assert not probes & set(load_result(cells / "ntp--G(2,3)--seed0" / "result.json")
                            .metrics.selected.values)
    first = (cells / "mutor--G(2,3)--seed0" / "generations").glob("*.jsonl")
    line = json.loads(next(first).read_text().splitlines()[0])
    assert isinstance(line["register_decisive_correct"], bool)
    lines = [x for x in md.splitlines() if "| register_decisive_accuracy" in x and "G(2,3)" in x]
    shown = {x.split("|")[1].strip(): x.split("|")[5].strip() for x in lines}
    assert shown["ntp"] == shown["teacherless"] == "– (not produced)"  # no registers there
    assert shown["mutor"].endswith("(n=2)") and shown["mutor_d23"].endswith("(n=2)")
