"""Table specs and `mutor-bench run`: the paper's cells, dry runs, resuming, sharding, errors."""

import textwrap

import pytest

from mutorbench.bench.runner import run_table
from mutorbench.cli import main
from mutorbench.paper import load_paper_table
from mutorbench.spec import expand, load_spec

TINY_SPEC = textwrap.dedent("""
    table: tinytab
    title: test table
    paper: table1
    baseline_row: ntp
    columns:
      - {id: arith, overrides: {task: {name: arith, train_examples: 24, eval_examples: 2}}, paper: {accuracy: gsm8k@gsm8k}}
    rows:
      - {id: ntp, paper_row: gemma-2b/ntp, overrides: {method: {id: ntp}}}
      - {id: multi_token, paper_row: gemma-2b/multi_token, status: not_run, reason: not implemented}
      - {id: mutor, paper_row: gemma-2b/mutor, overrides: {method: {id: mutor}},
         per_column: {arith: {method: {d_max: 3}}}}
    scales:
      tiny:
        seeds: [0, 1]
        base: {model: {hidden_size: 32}, tokenizer: {vocab_size: 300}, batch: {micro_batch_size: 4},
               budget: {kind: steps, amount: 3}, eval: {max_new_tokens: 4}}
""")


@pytest.fixture
def specs(tmp_path):
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "tinytab.yaml").write_text(TINY_SPEC)
    return tmp_path / "specs"


def test_paper_scale_cells_follow_the_paper():
    t10, t11 = load_paper_table("table10"), load_paper_table("table11")
    train_of = {"gsm8k@gsm8k": "gsm8k", "gsm8k@1m-gsm": "1m-gsm", "gsm8k@2m-gsm": "2m-gsm",
                "math500@1m-math": "1m-math", "aqua@aqua": "aqua"}
    cells = expand(load_spec("table1"), "paper")
    run = [c for c in cells if c.status == "run"]
    assert len(cells) == 57 and len(run) == 57
    for c in run:
        cfg = c.config
        gemma = c.row.startswith("gemma")
        assert cfg.model.name_or_path == ("google/gemma-2b" if gemma else "meta-llama/Meta-Llama-3-8B")
        assert cfg.optim.lr == (5e-5 if gemma else 2e-5)
        assert (cfg.optim.weight_decay, cfg.optim.warmup_fraction, cfg.optim.grad_clip) == (0, 0.1, 1)
        assert cfg.batch.micro_batch_size * cfg.batch.grad_accumulation == 10
        assert (cfg.budget.kind, cfg.budget.amount, cfg.precision) == ("epochs", 5, "bf16")
        assert cfg.task.max_length == (768 if c.column == "math500@1m-math" else 512)
        assert cfg.eval.max_new_tokens == (748 if c.column == "math500@1m-math" else 512)
        if cfg.method.id == "multi_token":  # the paper's tuned Multi-Token everywhere
            assert (cfg.method.d_max, cfg.method.a) == (2, 0.1)
        if cfg.method.id == "mutor":
            hp = (t10 if gemma else t11).rows
            best = next(r for r in hp if r.id == train_of[c.column]).values
            assert (cfg.method.d_max, cfg.method.a) == (best["d_max"], best["a"])
    seeds = {(c.row, c.column): set() for c in run}
    for c in run:
        seeds[(c.row, c.column)].add(c.seed)
    assert all(s == ({42, 43, 44} if r.startswith("gemma") else {42}) for (r, _), s in seeds.items())
    assert not any(c.column == "aqua@aqua" for c in cells if c.row.startswith("llama"))
    t2 = [c for c in expand(load_spec("table2"), "paper") if c.status == "run"]
    assert {(c.column, c.config.method.d_max, c.config.method.a) for c in t2
            if c.config.method.id == "mutor"} == {("samsum", 3, 0.5), ("dialogsum", 4, 0.5)}
    assert all(c.config.budget.amount == 3 and c.config.eval.select_split == "validation"
               and c.config.eval.metric == "rougeL" for c in t2)


def test_dry_run_lists_cells_and_runs_nothing(tmp_path, capsys):
    assert main(["run", "table2", "--dry-run", "--results", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "--- mutor/samsum/seed42 [run]" in out and "--- multi_token/dialogsum/seed44 [run]" in out
    assert "18 cells (18 to run); dry run: nothing was run" in out
    assert not any(tmp_path.iterdir())


def test_paper_scale_without_hub_fails_fast_naming_the_dataset(tmp_path, capsys):
    code = main(["run", "table2", "--only", "ntp/samsum/seed42", "--results", str(tmp_path),
                 "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and "knkarthick/samsum" in err and "task.local_path" in err


def test_run_resume_only_and_shard(tmp_path, specs, capsys):
    kw = dict(scale="tiny", spec_root=specs, output_root=str(tmp_path / "r"), progress=False,
              reports_root=str(tmp_path / "reports"))
    first = run_table("tinytab", only="ntp/*", **kw)
    assert len(first) == 2 and all(p.exists() for p in first)
    out = capsys.readouterr().out
    assert "2 cells trained, 0 reused from other tables, 0 already finished, 0 not run" in out
    everything = run_table("tinytab", **kw)  # resumes: the ntp cells are skipped
    out = capsys.readouterr().out
    assert "2 cells trained, 0 reused from other tables, 2 already finished, 2 not run" in out and len(everything) == 4
    assert "(n=2)" in (tmp_path / "reports" / "tinytab.md").read_text()  # report written at the end
    assert [c.id for c in expand(load_spec("tinytab", specs), "tiny", shard=(2, 3))] == [
        "ntp/arith/seed1", "mutor/arith/seed0"]  # cells 2 and 5 of ntp0 ntp1 mt0 mt1 mutor0 mutor1


def test_set_applies_to_the_cells_only_selects():
    """A MuToR-only sweep (`--only 'mutor/*' --set method.d_max=3`) must not fail on the Next-Token
    cells it does not run, which have no d_max."""
    spec = load_spec("fig4")
    cells = expand(spec, "tiny", only="mutor/G(2,3)/*", overrides=["method.d_max=3"])
    assert [c.config.method.d_max for c in cells] == [3, 3, 3]
    with pytest.raises(ValueError, match="cell ntp/G.2,3./seed0: config error at method.d_max"):
        expand(spec, "tiny", overrides=["method.d_max=3"])


@pytest.mark.parametrize(
    "argv,message",
    [
        (["run", "table99"], "unknown table 'table99'; specs available: fig4, table1, table2, "
                             "table3, table4, table5, table6, table7, table8, table9, table12, "
                             "table13, table14, table15, table16, table17"),
        (["run", "table1", "--scale", "huge"], "table1 has scales paper, tiny, not 'huge'"),
        (["run", "table2", "--only", "nothing/*"], "matches no cell"),
        (["run", "table2", "--shard", "3/2"], "need 1 <= i <= n"),
        (["run", "table2", "--shard", "x"], "--shard expects i/n"),
        (["run", "table2", "--dry-run", "--set", "optim.lr=-1"], "cell ntp/samsum/seed42: config error at optim.lr"),
    ],
)
def test_bad_table_input(argv, message, capsys):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_malformed_spec(tmp_path, capsys):
    (tmp_path / "bad.yaml").write_text("table: bad\ntitle: t\npaper: table1\nrows: []\n")
    assert main(["run", "bad", "--specs", str(tmp_path)]) == 2
    assert "malformed spec at columns: Field required" in capsys.readouterr().err
    # a flow-style key with a comma splits in two: named, not silently ignored
    (tmp_path / "typo.yaml").write_text(
        "table: typo\ntitle: t\npaper: table1\ncolumns: [{id: 'G(2,4)'}]\nscales: {}\n"
        "rows: [{id: r, per_column: {G(2,4): {seed: 1}}}]\n")
    assert main(["run", "typo", "--specs", str(tmp_path)]) == 2
    assert "row 'r': per_column names unknown columns ['4)', 'G(2']" in capsys.readouterr().err


def test_tiny_table1_runs_every_gemma_cell_on_the_generated_formats_from_one_base(tmp_path):
    from mutorbench.models.pretrain import base_dir

    cells = expand(load_spec("table1"), "tiny", output_root=str(tmp_path))
    run = [c for c in cells if c.status == "run"]
    assert len(run) == 30 and all(c.row.startswith("gemma-2b/") for c in run)  # 3 rows x 5 x 2
    assert {c.row for c in cells if c.status == "not_run"} == {
        "llama-3-8b/ntp", "llama-3-8b/multi_token", "llama-3-8b/mutor"}
    assert {(c.config.method.d_max, c.config.method.a) for c in run
            if c.config.method.id == "multi_token"} == {(2, 0.1)}
    tasks = {c.column: (c.config.task.name, c.config.task.data_seed, c.config.task.train_examples,
                        c.config.task.metric or "") for c in run}
    assert tasks["gsm8k@gsm8k"][0] == "gsm8k-gen" and tasks["math500@1m-math"][0] == "math-gen"
    one_m, two_m = tasks["gsm8k@1m-gsm"], tasks["gsm8k@2m-gsm"]
    assert one_m[0] == two_m[0] == "openmath-gsm-gen" and one_m[1] == two_m[1]
    assert two_m[2] == 1.5 * one_m[2]  # 2M-GSM contains 1M-GSM
    assert all(c.config.eval.select_split == ("validation" if c.column == "aqua@aqua" else "test")
               for c in run)
    bases = {base_dir(c.config) for c in run}  # every cell fine-tunes the same cached base
    assert len(bases) == 1 and str(next(iter(bases))).startswith(str(tmp_path / "bases"))
    paper_mutor = {c.column: (c.config.method.d_max, c.config.method.a)
                   for c in expand(load_spec("table1"), "paper") if c.status == "run"
                   and c.row == "gemma-2b/mutor"}
    assert {c.column: (c.config.method.d_max, c.config.method.a) for c in run
            if c.config.method.id == "mutor"} == paper_mutor


@pytest.mark.parametrize("name,params,hidden", [("gemma-2b", 2_506_172_416, 2048),
                                                ("llama-3-8b", 8_030_261_248, 4096)])
def test_paper_architectures_ship_as_data(name, params, hidden):
    import torch
    from transformers import AutoModelForCausalLM

    from mutorbench.models.support import check_supported
    from mutorbench.params import load_architecture

    cfg = load_architecture(name)  # shipped inside the package
    check_supported(cfg)
    with torch.device("meta"):  # shapes only: no memory, no download
        model = AutoModelForCausalLM.from_config(cfg)
    assert sum(p.numel() for p in model.parameters()) == params and cfg.hidden_size == hidden


def test_eta_counts_waves_of_parallel_cells():
    from mutorbench.bench.runner import eta_seconds

    # fig4 tiny: the first of 12 cells took 394 s on 2 processes; 11 left = 6 waves, not 11 cells
    assert eta_seconds([394.0], 11, 2) == 394.0 * 6
    assert eta_seconds([300.0, 500.0], 3, 1) == 1200.0 and eta_seconds([5.0], 0, 2) == 0.0


def test_parallel_cells_give_the_serial_results(tmp_path, specs, capsys):
    kw = {"scale": "tiny", "spec_root": specs, "progress": False, "reports_root": None,
          "overrides": ["threads=1"]}
    serial = run_table("tinytab", output_root=str(tmp_path / "serial"), **kw)
    parallel = run_table("tinytab", output_root=str(tmp_path / "parallel"), jobs=2, **kw)
    out = capsys.readouterr().out
    assert "training 4 cells in 2 parallel processes" in out and "ETA" in out
    assert "4 cells trained, 0 reused from other tables, 0 already finished, 2 not run" in out
    from mutorbench.results import load_result

    for a, b in zip(serial, parallel):
        ra, rb = load_result(a), load_result(b)
        assert ra.cell == rb.cell and ra.metrics.selected.values == rb.metrics.selected.values
        assert ra.init_weights_hash == rb.init_weights_hash
        assert (a.parent / "log.jsonl").read_text().split('"time_s"')[0] == \
            (b.parent / "log.jsonl").read_text().split('"time_s"')[0]  # same first-step loss


def test_a_cell_already_run_by_another_table_is_reused_not_retrained(tmp_path, specs, capsys):
    # "othertab" repeats tinytab's ntp cells under another name, and adds a cell that differs
    # only in the learning rate (so it must train).
    other = TINY_SPEC.replace("table: tinytab", "table: othertab").replace(
        "{id: ntp, paper_row", "{id: full_ft, paper_row").replace(
        "baseline_row: ntp", "baseline_row: full_ft").replace(
        "- {id: multi_token, paper_row: gemma-2b/multi_token, status: not_run, reason: not implemented}",
        "- {id: lr2, paper_row: gemma-2b/multi_token, overrides: {method: {id: ntp}, optim: {lr: 1.0e-3}}}")
    (specs / "othertab.yaml").write_text(other)
    kw = {"scale": "tiny", "spec_root": specs, "output_root": str(tmp_path / "r"),
          "progress": False, "reports_root": None, "only": "ntp/*"}
    [first, _] = run_table("tinytab", **kw)
    capsys.readouterr()
    reused = run_table("othertab", **(kw | {"only": "full_ft/*"}))
    out = capsys.readouterr().out
    assert "0 cells trained, 2 reused from other tables" in out and "result reused" in out
    from mutorbench.results import load_result

    a, b = load_result(first), load_result(reused[0])
    assert b.table == "othertab" and b.cell == {"row": "full_ft", "column": "arith"}
    assert b.reused_from == str(first) and a.reused_from is None
    assert b.metrics == a.metrics and b.init_weights_hash == a.init_weights_hash
    assert b.config["run_name"] != a.config["run_name"]
    gens = sorted(p.name for p in (first.parent / "generations").iterdir())
    assert gens and sorted(p.name for p in (reused[0].parent / "generations").iterdir()) == gens
    from mutorbench.bench.reuse import BOOKKEEPING

    assert {k: v for k, v in b.config.items() if k not in BOOKKEEPING} == \
        {k: v for k, v in a.config.items() if k not in BOOKKEEPING}
    run_table("othertab", **(kw | {"only": "lr2/*"}))  # another lr: a different training config
    assert "2 cells trained, 0 reused" in capsys.readouterr().out
    for path in reused:
        path.unlink()
    run_table("othertab", **(kw | {"only": "full_ft/*", "reuse": False}))  # --no-reuse trains
    assert "2 cells trained, 0 reused" in capsys.readouterr().out
    assert load_result(reused[0]).reused_from is None


def test_inherited_spec_takes_the_parent_columns_and_scales(specs):
    (specs / "child.yaml").write_text(textwrap.dedent("""
        table: child
        title: child table
        paper: table1
        inherits: tinytab
        columns: [arith]
        rows: [{id: per_offset, overrides: {method: {id: mutor, d_max: 3, registers: per_offset}}}]
        scales: {tiny: {note: child note}}
    """))
    parent, child = load_spec("tinytab", specs), load_spec("child", specs)
    assert child.columns == parent.columns
    assert child.scales["tiny"].base == parent.scales["tiny"].base
    assert child.scales["tiny"].seeds == [0, 1] and child.scales["tiny"].note == "child note"
    [cell, _] = expand(child, "tiny")
    assert cell.config.method.registers == "per_offset" and cell.config.task.train_examples == 24
    (specs / "bad.yaml").write_text("table: bad\ntitle: t\npaper: table1\ninherits: tinytab\n"
                                    "columns: [gsm]\nrows: []\n")
    with pytest.raises(ValueError, match=r"column 'gsm' is not in tinytab \(columns: arith\)"):
        load_spec("bad", specs)
    (specs / "grand.yaml").write_text("table: grand\ntitle: t\npaper: table1\ninherits: child\n"
                                      "columns: [arith]\nrows: []\n")
    with pytest.raises(ValueError, match="inherits 'child', which must be a plain spec"):
        load_spec("grand", specs)


def test_tables_4_5_6_16_repeat_table1_cells_and_differ_only_where_the_paper_does():
    from mutorbench.bench.reuse import training_key
    from mutorbench.train.config import config_tree

    for scale in ("tiny", "paper"):
        table1 = {training_key(config_tree(c.config)): c.row
                  for c in expand(load_spec("table1"), scale) if c.config is not None}
        shared = {}
        for table in ("table4", "table5", "table6", "table16"):
            for c in expand(load_spec(table), scale):
                if training_key(config_tree(c.config)) in table1:
                    shared.setdefault(table, set()).add((c.row, table1[training_key(
                        config_tree(c.config))]))
        assert shared == {
            "table4": {("ntp", "gemma-2b/ntp"), ("multi_token/2", "gemma-2b/multi_token"),
                       ("mutor/4", "gemma-2b/mutor")},
            "table5": {("ntp", "gemma-2b/ntp")},
            "table6": {("mutor/shared", "gemma-2b/mutor")},
            "table16": {("ntp", "gemma-2b/ntp"), ("multi_token", "gemma-2b/multi_token"),
                        ("mutor", "gemma-2b/mutor")}}, scale


def test_parameter_columns_are_computed_from_each_row_config():
    from mutorbench.paper import load_paper_table
    from mutorbench.report.params_table import params_frame

    t4 = params_frame(load_spec("table4"), "tiny", load_paper_table("table4")).set_index("Row")
    paper_model = t4["Ours: added (paper-scale model)"]
    assert paper_model["ntp"] == "0" and paper_model["mutor/6"] == "2,048"
    assert [paper_model[f"multi_token/{d}"] for d in (2, 3, 4, 6)] == [
        "110,104,576", "220,209,152", "330,313,728", "550,522,880"]  # Table 4: 110M ... 550M
    assert t4.loc["multi_token/4", "Paper: added"] == "330M"
    tiny = t4["Ours: added (tiny-scale model)"]
    assert tiny["mutor/2"] == "96" and tiny["multi_token/4"] == f"{3 * 147_648:,}"
    t5 = params_frame(load_spec("table5"), "tiny", load_paper_table("table5")).set_index("Row")
    assert t5.loc["lora/ntp", "Ours: trainable (paper-scale model)"] == "39,223,296"
    assert t5.loc["lora/mutor", "Ours: trainable (paper-scale model)"] == "39,225,344"  # + 2,048
    t6 = params_frame(load_spec("table6"), "tiny", load_paper_table("table6")).set_index("Row")
    assert t6.loc["mutor/per_offset", "Ours: added (paper-scale model)"] == "8,192"


def test_baseline_row_sets_the_delta_reference(tmp_path, specs):
    from mutorbench.report.tables import collect

    (specs / "tinytab.yaml").write_text(TINY_SPEC.replace("baseline_row: ntp\n",
                                                          "baseline_row: mutor\n"))
    run_table("tinytab", scale="tiny", spec_root=specs, output_root=str(tmp_path / "r"),
              progress=False, reports_root=None)
    frame = collect("tinytab", "tiny", spec_root=specs, results_root=str(tmp_path / "r"))
    delta = frame.set_index("row")["delta"]
    import pandas as pd

    assert pd.isna(delta["mutor"]) and not pd.isna(delta["ntp"])  # ntp is compared with mutor
    (specs / "tinytab.yaml").write_text(TINY_SPEC.replace("baseline_row: ntp\n",
                                                          "baseline_row: nope\n"))
    with pytest.raises(ValueError, match="baseline_row 'nope' is not a row"):
        load_spec("tinytab", specs)


@pytest.mark.parametrize("table", ["table1", "table2", "table4", "table5", "table6", "table16",
                                   "fig4"])
def test_declared_baselines_are_the_papers_comparisons(table):
    """Every row's Δ reference is declared in its spec: the same model's (or LoRA's) Next-Token
    row, Table 6's shared registers; the reference rows themselves train next-token (or shared)."""
    spec = load_spec(table)
    ids = {r.id for r in spec.rows}
    for row in spec.rows:
        base = row.baseline or spec.baseline_row
        if base is None or base == row.id:  # a reference row itself
            assert row.id.endswith(("ntp", "shared")), (table, row.id)
            continue
        assert base in ids, (table, row.id)
        prefix = row.id.rsplit("/", 1)[0] + "/" if "/" in row.id and table != "table6" else ""
        expected = {"table6": "mutor/shared"}.get(
            table, prefix + "ntp" if prefix + "ntp" in ids and prefix + "ntp" != row.id else "ntp")
        assert base == expected, (table, row.id, base)


@pytest.mark.parametrize("table,paper_cells,tiny_run", [
    ("table3", 9, 6), ("table12", 45, 20), ("table13", 30, 20), ("table14", 10, 0),
    ("table17", 12, 12)])
def test_the_remaining_language_tables_expand_as_the_paper(table, paper_cells, tiny_run):
    paper = expand(load_spec(table), "paper")
    tiny = expand(load_spec(table), "tiny")
    assert len(paper) == paper_cells and all(c.status == "run" for c in paper)
    assert sum(c.status == "run" for c in tiny) == tiny_run
    epochs = {c.row: c.config.budget.amount for c in paper}
    if table in ("table12", "table14"):
        assert {r: e for r, e in epochs.items()} == {"ntp/5": 5, "ntp/10": 10, "multi_token/5": 5,
                                                     "multi_token/10": 10, "mutor/5": 5}
    if table == "table13":
        assert epochs == {"ntp/3": 3, "ntp/5": 5, "multi_token/3": 3, "multi_token/5": 5,
                          "mutor/3": 3}
    if table == "table14":  # Llama, one run, paper scale only
        assert {c.config.model.name_or_path for c in paper} == {"meta-llama/Meta-Llama-3-8B"}
        assert {c.seed for c in paper} == {42}
        assert {c.status for c in tiny} == {"not_run"}
    if table == "table17":  # single runs, a as the row says, d_max 4; a = 0 is Next-Token
        assert {c.seed for c in paper} == {42} and {c.seed for c in tiny} == {0}
        got = {c.row: (c.config.method.id, getattr(c.config.method, "a", None),
                       getattr(c.config.method, "d_max", None)) for c in paper}
        assert got["mutor/a=0.2"] == ("mutor", 0.2, 4) and got["ntp"][0] == "ntp"
    if table == "table3":  # 1M-GSM-extra: 1.4x the examples, Next-Token only
        extra = [c for c in tiny if c.column == "gsm8k@1m-gsm-extra"]
        assert {c.row for c in extra} == {"ntp"}
        assert {c.config.task.train_examples for c in extra} == {2100}  # 1.4 x 1500
        assert {c.config.task.name for c in paper if c.column == "gsm8k@1m-gsm-extra"} == {
            "1m-gsm-extra"}
