"""Columns that are evaluation steps of one run (Tables 7-9 and 15: 100K / 200K / 360K).

One training run serves every such column: the cells differ only in ``eval.report_step``, the
first trains, the others are read from it, and each result reports its own step's evaluation.
"""

import textwrap

import pytest

from mutorbench.bench.runner import run_table
from mutorbench.results import load_result
from mutorbench.selection import select
from mutorbench.spec import expand, load_spec
from mutorbench.train.config import parse_config

STEP_SPEC = textwrap.dedent("""
    table: steptab
    title: one run read at three steps
    paper: table7
    baseline_row: ntp
    columns:
      # accuracy shown beside the paper's FID: only the mapping to a paper row per column is tested
      - {id: 100k, overrides: {eval: {selection: at_step, report_step: 2}}, paper: {accuracy: fid}}
      - {id: 200k, overrides: {eval: {selection: at_step, report_step: 4}}, paper: {accuracy: fid}}
      - {id: 360k, overrides: {eval: {selection: at_step, report_step: 6}}, paper: {accuracy: fid}}
    rows:
      - {id: ntp, paper_row: "{column}/ntp", overrides: {method: {id: ntp}}}
      - {id: mutor, paper_row: "{column}/mutor2d", overrides: {method: {id: mutor}}}
    scales:
      tiny:
        seeds: [0]
        base: {model: {hidden_size: 32}, tokenizer: {vocab_size: 300}, batch: {micro_batch_size: 4},
               task: {name: arith, train_examples: 24, eval_examples: 2},
               budget: {kind: steps, amount: 6}, eval: {max_new_tokens: 4, at_steps: [2, 4]}}
""")


@pytest.fixture
def specs(tmp_path):
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "steptab.yaml").write_text(STEP_SPEC)
    return tmp_path / "specs"


def test_at_step_reports_that_evaluation_and_no_other():
    cps = [{"step": s, "epoch": 1.0, "split": split,
            "values": {"fid": float(s + (split == "test"))}}
           for s in (2, 4, 6) for split in ("validation", "test")]
    picked = select(cps, "at_step", "fid", "validation", "test", step=4)
    assert picked["checkpoint"]["step"] == 4 and picked["values"] == {"fid": 5.0}
    assert picked["rule"] == "at step 4, reported on test"
    with pytest.raises(ValueError, match=r"eval.report_step 5 is not an evaluation of this run "
                                         r"\(evaluated at steps \[2, 4, 6\]\)"):
        select(cps, "at_step", "fid", "validation", "test", step=5)


@pytest.mark.parametrize("tree", [{"eval": {"report_step": 3}},
                                  {"eval": {"selection": "at_step"}}])
def test_report_step_goes_with_its_rule(tree):
    with pytest.raises(ValueError, match="eval.report_step goes with eval.selection=at_step"):
        parse_config(tree)


def test_a_report_step_that_is_not_evaluated_is_refused_before_training(tmp_path):
    from mutorbench.train.schedule import check_schedule

    cfg = parse_config({"eval": {"selection": "at_step", "report_step": 3, "at_steps": [2]}})
    with pytest.raises(ValueError, match="eval.report_step 3 is not an evaluation point"):
        check_schedule(cfg.eval, 6)
    check_schedule(cfg.eval.model_copy(update={"report_step": 6}), 6)  # the last step: evaluated


def test_paper_row_names_a_row_per_column(specs):
    spec = load_spec("steptab", specs)
    assert [spec.rows[0].paper_row_at(c.id) for c in spec.columns] == [
        "100k/ntp", "200k/ntp", "360k/ntp"]


@pytest.mark.parametrize("jobs", [1, 2])
def test_step_columns_train_once_and_report_their_own_step(tmp_path, specs, capsys, jobs):
    kw = dict(scale="tiny", spec_root=specs, output_root=str(tmp_path / "r"), progress=False,
              reports_root=str(tmp_path / "reports"), jobs=jobs)
    paths = run_table("steptab", **kw)
    out = capsys.readouterr().out
    assert "2 cells trained, 0 reused from other tables, 0 already finished, 0 not run, 4 read " \
           "from another cell's run" in out
    results = {(r.cell["row"], r.cell["column"]): r for r in map(load_result, paths)}
    for row in ("ntp", "mutor"):
        trained = results[(row, "100k")]
        assert trained.reused_from is None
        assert [c.step for c in trained.metrics.checkpoints] == [2, 4, 6]
        for column, step in (("100k", 2), ("200k", 4), ("360k", 6)):
            r = results[(row, column)]
            cp = next(c for c in trained.metrics.checkpoints if c.step == step)
            assert r.metrics.selected.checkpoint.step == step
            assert r.metrics.selected.values == cp.values
            assert r.metrics.checkpoints == trained.metrics.checkpoints
            assert r.config["eval"]["report_step"] == step
            assert (r.reused_from is None) == (column == "100k")
            assert r.reused_from is None or r.reused_from.endswith(
                f"{row}--100k--seed0/result.json")  # the run that trained, not another copy
    # the report reads each column's own step, and the paper's row of that column. Untrained,
    # every step scores 0: give each evaluation a distinct value (as each file's own selection
    # would carry it) so that reading another column's step shows.
    import json

    for path in paths:
        data = json.loads(path.read_text())
        for cp in data["metrics"]["checkpoints"] + [data["metrics"]["selected"]["checkpoint"]]:
            cp["values"]["accuracy"] = 10.0 * cp["step"]
        data["metrics"]["selected"]["values"] = data["metrics"]["selected"]["checkpoint"]["values"]
        path.write_text(json.dumps(data))
        results[(data["cell"]["row"], data["cell"]["column"])] = load_result(path)
    from mutorbench.report.tables import collect

    frame = collect("steptab", "tiny", spec_root=specs, results_root=tmp_path / "r")
    shown = {(r["row"], r["column"]): (r["paper"], r["mean"]) for _, r in frame.iterrows()
             if r["row"] != "trivial baseline"}
    paper_fid = {("ntp", "100k"): 7.71, ("ntp", "200k"): 6.83, ("ntp", "360k"): 6.18,
                 ("mutor", "100k"): 6.57, ("mutor", "200k"): 5.65, ("mutor", "360k"): 5.09}
    steps = {"100k": 2, "200k": 4, "360k": 6}
    assert shown == {cell: (paper_fid[cell], 10.0 * steps[cell[1]]) for cell in paper_fid}
    # an unchanged rerun trains nothing; the copies are finished cells now
    run_table("steptab", **kw)
    assert "0 cells trained, 0 reused from other tables, 6 already finished" in \
        capsys.readouterr().out


def test_another_report_step_for_a_finished_cell_is_refused(tmp_path, specs):
    kw = dict(scale="tiny", spec_root=specs, output_root=str(tmp_path / "r"), progress=False,
              reports_root=None, only="ntp/200k/*")
    run_table("steptab", **kw)
    (specs / "steptab.yaml").write_text(STEP_SPEC.replace("report_step: 4", "report_step: 6"))
    with pytest.raises(ValueError, match=r"eval.report_step 4 -> 6"):
        run_table("steptab", **kw)


def test_step_cells_share_one_training_key_and_nothing_else_does(specs):
    from mutorbench.bench.reuse import training_key

    cells = expand(load_spec("steptab", specs), "tiny")
    keys = {}
    for c in cells:
        keys.setdefault(c.row, set()).add(training_key(c.tree))
    assert all(len(k) == 1 for k in keys.values()) and len(set.union(*keys.values())) == 2
