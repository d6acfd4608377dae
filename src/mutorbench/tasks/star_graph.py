"""`star_graph`: path-finding on star graphs (Bachmann & Nagarajan 2024; the paper's Fig. 4).

A graph has ``degree`` arms leaving a source node, each arm ``path_length`` nodes long (source
included, so ``path_length - 1`` edges). The prompt lists the edges in random order, then the query
(source, goal); the answer is the path from source to goal, in their text format::

    u,v|u,v|...|u,v/s,g=s,a,b,...,g

Teacher-forced next-token training learns a "Clever Hans" shortcut and leaves the first step after
the source (the decisive token) at chance, 1/degree. Node ids are 0..num_nodes-1; a numeral
tokenizer (`models/tokenizer.numeral_tokenizer`) gives one token per node id and separator; the
commas between node ids are not tokens, so MuToR's offset d counts path nodes.
Evaluation graphs are drawn first and training graphs equal to one of them are skipped, so the
splits are disjoint. ``local_path``: a folder of Bachmann & Nagarajan's published files.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field

from mutorbench.configbase import PositiveInt, Strict
from mutorbench.examples import Example
from mutorbench.registry import TASKS
from mutorbench.tasks.base import FilesConfig, TaskBase
from mutorbench.tasks.generated import GeneratedConfig

SEPARATORS = ("|", "/", "=")  # and "," between node ids, which is not a token


@dataclass(frozen=True)
class StarGraph:
    source: int
    goal: int
    arms: tuple[tuple[int, ...], ...]  # each arm from the source (first) to its leaf (last)
    edges: tuple[tuple[int, int], ...]  # in the order the prompt lists them

    @property
    def path(self) -> tuple[int, ...]:
        return next(arm for arm in self.arms if arm[-1] == self.goal)


def make_graph(rng: random.Random, degree: int, path_length: int, num_nodes: int) -> StarGraph:
    need = 1 + degree * (path_length - 1)
    if degree < 2 or path_length < 2 or need > num_nodes:
        raise ValueError(f"star graph needs degree >= 2, path_length >= 2 and num_nodes >= "
                         f"{need} (1 + degree * (path_length - 1)); got degree {degree}, "
                         f"path_length {path_length}, num_nodes {num_nodes}")
    nodes = rng.sample(range(num_nodes), need)
    source, rest = nodes[0], nodes[1:]
    step = path_length - 1
    arms = tuple((source, *rest[i * step:(i + 1) * step]) for i in range(degree))
    edges = [(arm[j], arm[j + 1]) for arm in arms for j in range(step)]
    rng.shuffle(edges)
    goal = arms[rng.randrange(degree)][-1]
    return StarGraph(source, goal, arms, tuple(edges))


def format_prompt(graph: StarGraph) -> str:
    return "|".join(f"{u},{v}" for u, v in graph.edges) + f"/{graph.source},{graph.goal}="


def format_path(path) -> str:
    return ",".join(str(n) for n in path)


def read_published(path: Path) -> list[tuple[str, str]]:
    """(prompt, answer) pairs from one of Bachmann & Nagarajan's files: ``edges/s,g=path``."""
    from mutorbench.fsio import read_text

    pairs = []
    for n, line in enumerate(read_text(path, "star-graph file").splitlines(), 1):
        if not line.strip():
            continue
        if line.count("=") != 1 or "/" not in line:
            raise ValueError(f"{path}:{n}: expected 'edges/source,goal=path', got {line[:60]!r}")
        prefix, answer = line.strip().split("=")
        pairs.append((prefix + "=", answer))
    if not pairs:
        raise ValueError(f"{path}: no graphs")
    return pairs


class GraphConfig(Strict):
    """``degree`` arms of ``path_length`` nodes (source included) from a source."""
    degree: Annotated[int, Field(ge=2)] = 2
    path_length: Annotated[int, Field(ge=2)] = 5
    num_nodes: PositiveInt = 50


class StarGraphConfig(GeneratedConfig, FilesConfig):
    """Generated graphs, or Bachmann & Nagarajan's files (``local_path``): then the example counts
    name the files' N."""
    graph: GraphConfig = GraphConfig()
    # bachmann_nagarajan: their sequences exactly: no BOS, no EOS, the loss on the path only
    format: Literal["suite", "bachmann_nagarajan"] = "suite"

    def check_run(self, run) -> None:
        # without EOS, generation stops after path_length tokens: one token per node
        if self.format == "bachmann_nagarajan" and (run.tokenizer is None
                                                    or run.tokenizer.kind != "numeral"):
            raise ValueError("task.format bachmann_nagarajan needs tokenizer.kind numeral (a "
                             "tiny model): the path is cut at path_length tokens, one per node")


@TASKS.register
@dataclass
class StarGraphTask(TaskBase):
    data_seed: int = 0
    train_examples: int = 2000
    eval_examples: int = 128
    degree: int = 2
    path_length: int = 5
    num_nodes: int = 50
    local_path: str | None = None
    files: dict = field(default_factory=dict)  # split -> explicit file (wins over local_path)
    format: str = "suite"  # or "bachmann_nagarajan": no BOS and no EOS, as their code
    name: str = "star_graph"
    metric: str = "star_path"
    teacher_forced: bool = True  # the evaluator adds teacher-forced token accuracy
    _pairs: dict = field(default_factory=dict, repr=False, compare=False)
    max_new_tokens = 40  # a path of up to 39 nodes and EOS

    Config = StarGraphConfig

    @classmethod
    def from_config(cls, cfg):
        g = cfg.graph
        return cls(data_seed=cfg.data_seed, train_examples=cfg.train_examples,
                   eval_examples=cfg.eval_examples, degree=g.degree, path_length=g.path_length,
                   num_nodes=g.num_nodes, local_path=cfg.local_path, files=dict(cfg.files or {}),
                   format=cfg.format)

    # Bachmann & Nagarajan's format: the sequence is prompt tokens then path tokens, nothing else
    # (their Graphs dataset: x = seq[:-1], targets -1 on the prompt); the suite's adds BOS in
    # front and EOS after the path, as every other task of the suite.
    @property
    def answer_eos(self) -> bool:
        return self.format == "suite"

    @property
    def fixed_answer_tokens(self) -> int | None:
        return None if self.format == "suite" else self.path_length

    probe_names = ("decisive", "parent_goal")

    @property
    def probe_targets(self) -> dict[str, int]:
        """The path nodes a register diagnostic reads: the decisive node (after the source) and
        the goal's parent (the one a backward lookup from the goal finds)."""
        return {"decisive": 1, "parent_goal": self.path_length - 2}

    def _no_bos(self, ids, tokenizer):
        if self.format == "suite" or not ids or ids[0] != tokenizer.bos_token_id:
            return ids
        return ids[1:]

    def encode_prompts(self, tokenizer, prompts):
        return [self._no_bos(ids, tokenizer) for ids in super().encode_prompts(tokenizer, prompts)]

    def _all_no_bos(self, examples, tokenizer) -> list[Example]:
        return [Example(tuple(self._no_bos(e.prompt_ids, tokenizer)), e.answer_ids, e.index,
                        e.metadata) for e in examples]

    def scoring_examples(self, tokenizer, pairs):
        return self._all_no_bos(super().scoring_examples(tokenizer, pairs), tokenizer)

    def examples(self, split, tokenizer, max_length):
        examples, counts = super().examples(split, tokenizer, max_length)
        return self._all_no_bos(examples, tokenizer), counts

    def _file(self, split: str) -> Path:
        """The published file of a split with N = ``train_examples`` (train) or ``eval_examples``
        graphs, in either of the authors' namings: ``deg_2_path_5_nodes_50_test_20000.txt`` or
        the older ``deg_3_path_3_nodes_50_reverse_False_20000_test.txt``."""
        if split in self.files:
            path = Path(self.files[split])
            if not path.is_file():
                raise ValueError(f"star_graph: task.files.{split} {path} is not a file")
            return path
        n = self.train_examples if split == "train" else self.eval_examples
        stem = f"deg_{self.degree}_path_{self.path_length}_nodes_{self.num_nodes}"
        root = Path(self.local_path)
        for name in (f"{stem}_{split}_{n}.txt", f"{stem}_reverse_False_{n}_{split}.txt"):
            if (root / name).is_file():
                return root / name
        others = sorted(p.name for p in {*root.glob(f"{stem}_{split}_*.txt"),
                                         *root.glob(f"{stem}_reverse_False_*_{split}.txt")})
        size = "task.train_examples" if split == "train" else "task.eval_examples"
        hint = (f"; present: {', '.join(others)} (set {size} to its N)" if others else
                f" (task.local_path must hold Bachmann & Nagarajan's {stem}_{{train,test}}_N.txt "
                "files)")
        raise ValueError(f"star_graph: {root / f'{stem}_{split}_{n}.txt'} not found{hint}")

    def sources(self) -> dict:
        out = {"generator": __name__, "data_seed": self.data_seed, "degree": self.degree,
               "path_length": self.path_length, "num_nodes": self.num_nodes,
               "train_examples": self.train_examples, "eval_examples": self.eval_examples,
               "format": self.format}
        return out | ({"local_path": self.local_path} if self.local_path else {})

    def _build(self) -> dict[str, list[tuple[str, str]]]:
        rng = random.Random(self.data_seed)
        held_out: dict[str, str] = {}
        while len(held_out) < 2 * self.eval_examples:
            g = make_graph(rng, self.degree, self.path_length, self.num_nodes)
            held_out.setdefault(format_prompt(g), format_path(g.path))
        train = []
        while len(train) < self.train_examples:
            g = make_graph(rng, self.degree, self.path_length, self.num_nodes)
            if format_prompt(g) not in held_out:
                train.append((format_prompt(g), format_path(g.path)))
        evals = list(held_out.items())
        m = self.eval_examples
        return {"train": train, "test": evals[:m], "validation": evals[m:]}

    def texts(self, split: str) -> list[tuple[str, str]]:
        if split not in ("train", "validation", "test"):
            raise ValueError(f"task {self.name!r} has splits train, validation and test, "
                             f"not {split!r}")
        if self.local_path or self.files:  # their files, read per split (a test file alone
            if split not in self._pairs:  # evaluates)
                if split == "validation" and "validation" not in self.files:
                    # tuning on their test file would report numbers chosen on the test set
                    raise ValueError("star_graph: Bachmann & Nagarajan's files have train and "
                                     "test only; set task.files.validation to a file of other "
                                     "graphs, or evaluate on test (eval.select_split=test)")
                self._pairs[split] = read_published(self._file(split))
            return self._pairs[split]
        if not self._pairs:
            self._pairs = self._build()
        return self._pairs[split]

    def vocabulary(self) -> list[str]:
        """Every token the task can show: node ids and separators (numeral tokenizer)."""
        return [str(n) for n in range(self.num_nodes)] + list(SEPARATORS)
