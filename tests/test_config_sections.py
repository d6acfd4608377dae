"""The resolved config of a cell holds only what the cell uses: a pretrained model has no tiny
sizes and no tokenizer section, a dataset read whole has no example counts, no task carries
another task's section, and LoRA appears only with peft. Checked for every cell of every shipped
spec at every scale, in the dry run and the config a result stores."""

import pytest
import yaml

from mutorbench.cli import main
from mutorbench.registry import TASKS
from mutorbench.spec import SPEC_DIR, expand, load_spec
from mutorbench.tasks.hf import HFTask
from mutorbench.tasks.image_codes import ImageNetCodesTask
from mutorbench.tasks.jsonl import JsonlTask
from mutorbench.tasks.star_graph import StarGraphTask
from mutorbench.train.config import config_tree, load_config, parse_config

TINY_MODEL = {"arch", "hidden_size", "num_layers", "num_heads", "num_kv_heads",
              "intermediate_size", "pretrain"}
COUNTS = {"data_seed", "train_examples", "eval_examples"}
FILES = {"local_path", "files", "revision"}


def unused_fields(tree: dict) -> list[str]:
    """What a resolved config says that its cell would not read."""
    bad = []
    model, task = tree["model"], tree["task"]
    if model["source"] in ("pretrained", "llamagen"):  # own vocabulary (images: the codebook)
        bad += [f"model.{k}" for k in TINY_MODEL & set(model)]
        bad += ["tokenizer"] * ("tokenizer" in tree)
    elif "tokenizer" not in tree:
        bad.append("tokenizer (missing for a tiny model)")
    cls = TASKS.get(task["name"])
    if issubclass(cls, (HFTask, JsonlTask)):  # read whole, from the hub or files
        bad += [f"task.{k}" for k in COUNTS & set(task)]
    if not issubclass(cls, StarGraphTask):
        bad += ["task.graph"] * ("graph" in task)
    if not issubclass(cls, (HFTask, JsonlTask, StarGraphTask, ImageNetCodesTask)):  # generated
        bad += [f"task.{k}" for k in FILES & set(task)]
    if ("lora" in tree) != (tree["peft"] == "lora"):
        bad.append("lora")
    return bad


def test_the_check_itself_catches_what_the_old_config_said():
    """The dry run of Table 2 at paper scale used to print these for a pretrained Gemma 2B."""
    old = {"model": {"source": "pretrained", "name_or_path": "google/gemma-2b", "hidden_size": 96,
                     "num_layers": 2}, "tokenizer": {"vocab_size": 384},
           "task": {"name": "samsum", "train_examples": 2000, "eval_examples": 128,
                    "graph": {"degree": 2}}, "peft": "none", "lora": {"r": 32}}
    assert sorted(unused_fields(old)) == ["lora", "model.hidden_size", "model.num_layers",
                                          "task.eval_examples", "task.graph",
                                          "task.train_examples", "tokenizer"]


SPECS = sorted(p.stem for p in SPEC_DIR.glob("*.yaml"))


@pytest.mark.parametrize("table", SPECS)
def test_every_cell_of_every_scale_holds_only_what_it_uses(table, tmp_path):
    spec = load_spec(table)
    cells = [c for scale in spec.scales for c in expand(spec, scale, output_root=str(tmp_path))
             if c.config is not None]
    assert cells
    bad = {c.id: unused_fields(config_tree(c.config)) for c in cells}
    assert not {cell: fields for cell, fields in bad.items() if fields}
    for c in cells:  # the stored tree reads back as the same config
        assert parse_config(config_tree(c.config)) == c.config


def test_the_paper_dry_run_prints_a_pretrained_cell_as_it_runs(capsys):
    assert main(["run", "table2", "--scale", "paper", "--dry-run", "--only",
                 "ntp/samsum/seed42"]) == 0
    out = capsys.readouterr().out
    tree = yaml.safe_load(out.split("\n", 1)[1].rsplit("\n1 cells", 1)[0])
    assert tree["model"] == {"source": "pretrained", "name_or_path": "google/gemma-2b",
                             "revision": None, "attn_implementation": "sdpa"}
    assert "tokenizer" not in tree and "lora" not in tree and unused_fields(tree) == []
    assert set(tree["task"]) == {"name", "max_length", "metric", "local_path", "files", "revision"}


@pytest.mark.parametrize("sets,error", [
    (["task.name=gsm8k", "task.train_examples=10"],
     "config error at task.train_examples: unknown key for task 'gsm8k'"),
    (["task.name=arith", "task.graph.degree=3"],
     "config error at task.graph: unknown key for task 'arith'"),
    (["task.name=arith", "task.local_path=/data"],
     "config error at task.local_path: unknown key for task 'arith'"),
    (["model.source=pretrained", "model.name_or_path=x", "model.hidden_size=64"],
     "config error at model.hidden_size: unknown key for model 'pretrained'"),
    (["model.source=pretrained", "model.name_or_path=x", "tokenizer.vocab_size=512"],
     "config error at tokenizer: a pretrained model brings its own tokenizer; this section is "
     "for tiny models"),
    (["lora.r=8"], "config error at lora: this section applies with peft: lora only"),
    (["model.source=pretrained"], "config error at model.name_or_path: Field required"),
    (["model.source=hub"], "config error at model: needs `source`, one of: tiny, pretrained, llamagen"),
])
def test_a_key_the_cell_would_ignore_is_one_line(sets, error):
    with pytest.raises(ValueError) as err:
        load_config(None, sets)
    assert str(err.value) == error


def test_sections_a_cell_uses_get_their_defaults():
    tiny = load_config(None, [])
    assert tiny.tokenizer is not None and tiny.lora is None and "lora" not in config_tree(tiny)
    lora = load_config(None, ["peft=lora"])
    assert lora.lora.r == 32 and config_tree(lora)["lora"]["r"] == 32
    star = load_config(None, ["task.name=star_graph", "task.graph.degree=3"])
    assert star.task.graph.degree == 3 and star.task.train_examples == 2000
