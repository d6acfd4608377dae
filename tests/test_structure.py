"""The seams hold: the reporter reads result files only, the method core knows no trainer, and
component ids are compared nowhere but in their registry (checked on the source, lazy imports
included)."""

import ast
import json
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "mutorbench"


def imported_modules(package: str) -> dict[str, set[str]]:
    out = {}
    for path in sorted((SRC / package).rglob("*.py")):
        names = set()
        for node in ast.walk(ast.parse(path.read_text())):  # every import, lazy ones too
            if isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module)
            elif isinstance(node, ast.Import):
                names |= {a.name for a in node.names}
        out[str(path.relative_to(SRC))] = names
    return out


@pytest.mark.parametrize("package,forbidden", [
    ("report", ("mutorbench.train", "mutorbench.tasks", "mutorbench.evaluation",
                "mutorbench.methods")),
    ("methods", ("mutorbench.train", "mutorbench.tasks", "mutorbench.report", "mutorbench.cli",
                 "mutorbench.bench")),
])
def test_package_imports_stay_on_their_side(package, forbidden):
    bad = {f: sorted(m for m in mods if m.startswith(forbidden))
           for f, mods in imported_modules(package).items()}
    assert not {f: m for f, m in bad.items() if m}


def test_no_method_task_or_evaluator_id_is_compared_anywhere():
    import mutorbench.train.config  # noqa: F401 (registers every built-in component)
    from mutorbench.registry import EVALUATORS, METHODS, TASKS

    ids = {*METHODS.names(), *TASKS.names(), *EVALUATORS.names(), "rouge", "star_path"}
    assert {"ntp", "mutor", "teacherless", "gsm8k", "star_graph", "generation"} <= ids
    hits = []
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Compare):
                consts = [c.value for c in ast.walk(node) if isinstance(c, ast.Constant)]
                if any(v in ids for v in consts):
                    hits.append(f"{path.relative_to(SRC)}:{node.lineno}")
    assert not hits


def test_a_table_run_files_its_trivial_baselines_and_the_report_reads_them(tmp_path):
    from mutorbench.bench.runner import run_table
    from mutorbench.report.tables import collect
    from tests.test_tables import TINY_SPEC

    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "tinytab.yaml").write_text(TINY_SPEC)
    root = tmp_path / "r"
    run_table("tinytab", scale="tiny", spec_root=tmp_path / "specs", output_root=str(root),
              only="ntp/arith/seed0", progress=False, reports_root=None)
    path = root / "tinytab" / "tiny" / "trivial--arith" / "baseline.json"
    data = json.loads(path.read_text())
    assert data["kind"] == "trivial_baseline" and set(data["values"]) == {"accuracy"}
    frame = collect("tinytab", "tiny", spec_root=tmp_path / "specs", results_root=str(root))
    trivial = frame[frame["row"] == "trivial baseline"]
    assert list(trivial["mean"]) == [data["values"]["accuracy"]]
    path.unlink()  # the reporter rebuilds nothing: no file, no row
    frame = collect("tinytab", "tiny", spec_root=tmp_path / "specs", results_root=str(root))
    assert "trivial baseline" not in set(frame["row"])


def _package_of(module: str) -> str:
    return ".".join(module.split(".")[:2])  # mutorbench.train, mutorbench.results, ...


def test_no_import_cycle_between_packages_lazy_imports_included():
    graph: dict[str, set[str]] = {}
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC.parent).with_suffix("")
        me = _package_of(".".join(p for p in rel.parts if p != "__init__"))
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module == "mutorbench":
                mods = [f"mutorbench.{a.name}" for a in node.names]
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("mutorbench."):
                mods = [node.module]
            elif isinstance(node, ast.Import):
                mods = [a.name for a in node.names if a.name.startswith("mutorbench.")]
            else:
                continue
            graph.setdefault(me, set()).update(_package_of(m) for m in mods if
                                               _package_of(m) != me)
    state: dict[str, str] = {}

    def visit(node, trail):  # depth-first: a grey node met again closes a cycle
        state[node] = "grey"
        for nxt in sorted(graph.get(node, ())):
            assert state.get(nxt) != "grey", " -> ".join([*trail, nxt])
            if nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = "black"
    for node in sorted(graph):
        if node not in state:
            visit(node, [node])


# Attribute probes left in the trainer and evaluators: torch/peft wrapper types, not components
WRAPPER_PROBES = {"no_sync", "set_requires_gradient_sync", "full_tensor", "get_base_model"}


def test_no_component_behaviour_is_probed_with_getattr():
    hits = []
    for folder in ("train", "evaluation", "bench"):
        for path in sorted((SRC / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                        and node.func.id in ("getattr", "hasattr") and len(node.args) > 1):
                    name = node.args[1]
                    if not (isinstance(name, ast.Constant) and name.value in WRAPPER_PROBES):
                        hits.append(f"{path.relative_to(SRC)}:{node.lineno}")
    # one left: the config unions' discriminator reading its tag from a section
    assert [hit.split(":")[0] for hit in hits] == ["train/config.py"]
