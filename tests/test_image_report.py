"""An image table end to end at test size: one run per arm read at its steps, the no-model image
baselines, sample grids, FID vs steps, and the golden gate on FID."""

import json
import textwrap

import pytest

pytest.importorskip("sklearn")
pytest.importorskip("torch_fidelity")

SPEC = textwrap.dedent("""
    table: imgtab
    title: digits at test size
    paper: table7
    curves: true
    sample_grids: true
    baseline_row: ntp
    columns:
      - {id: 100k, overrides: {eval: {selection: at_step, report_step: 2}},
         paper: {fid: fid, inception_score: inception_score, precision: precision, recall: recall}}
      - {id: 360k, overrides: {eval: {selection: at_step, report_step: 4}},
         paper: {fid: fid, inception_score: inception_score, precision: precision, recall: recall}}
    rows:
      - {id: ntp, paper_row: "{column}/ntp", overrides: {method: {id: ntp}}}
      - {id: mutor2d, paper_row: "{column}/mutor2d",
         overrides: {method: {id: mutor_2d, d_max_2d: 2, grid_width: 8, register_count: 20}}}
    scales:
      tiny:
        seeds: [0]
        base:
          model: {source: llamagen, dim: 32, n_layer: 2, n_head: 2}
          task: {name: digits}
          batch: {micro_batch_size: 8}
          budget: {kind: steps, amount: 4}
          eval: {select_split: validation, report_split: test, at_steps: [2],
                 images: {num_samples: 40, batch_size: 40}}
""")


@pytest.fixture
def image_table(tmp_path, digits_cnn_dir):
    from mutorbench.bench.runner import run_table

    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "imgtab.yaml").write_text(
        SPEC.replace("batch_size: 40}", f"batch_size: 40, feature_cache: '{digits_cnn_dir}'}}"))
    kw = dict(scale="tiny", spec_root=tmp_path / "specs", output_root=str(tmp_path / "r"),
              progress=False, reports_root=str(tmp_path / "reports"))
    return run_table("imgtab", **kw), kw, tmp_path


def test_an_image_table_reports_ours_beside_the_paper_with_its_baselines_and_samples(
        image_table):
    paths, _, root = image_table
    from mutorbench.report.tables import collect
    from mutorbench.results import load_result

    results = {(r.cell["row"], r.cell["column"]): r for r in map(load_result, paths)}
    assert {k: r.metrics.selected.checkpoint.step for k, r in results.items()} == {
        ("ntp", "100k"): 2, ("ntp", "360k"): 4, ("mutor2d", "100k"): 2, ("mutor2d", "360k"): 4}
    frame = collect("imgtab", "tiny", spec_root=root / "specs", results_root=root / "r")
    fid = frame[frame["metric"] == "fid"]
    ours = fid[fid["row"] != "trivial baseline"].set_index(["row", "column"])
    assert ours.loc[("ntp", "100k"), "paper"] == 7.71 and ours.loc[("mutor2d", "360k"),
                                                                   "paper"] == 5.09
    assert ours.loc[("ntp", "360k"), "mean"] == results[("ntp", "360k")].metrics.selected.values[
        "fid"]
    # two no-model references per column, filed once per run of the table
    trivial = fid[fid["row"] == "trivial baseline"]
    assert sorted(trivial["rule"]) == ["pixel marginals", "pixel marginals", "training images",
                                       "training images"]
    marginal = trivial[trivial["rule"] == "pixel marginals"]["mean"].iloc[0]
    real = trivial[trivial["rule"] == "training images"]["mean"].iloc[0]
    assert marginal > 2 * real  # 40 images: FID is biased up; 300 give > 5x (test_image_task)
    md = (root / "reports" / "imgtab.md").read_text()
    assert "each pixel drawn from its own training-split marginal" in md
    assert "![samples](imgtab-samples.png)" in md and "ntp at step 4, seed 0" in md
    assert (root / "reports" / "imgtab-samples.png").stat().st_size > 1000
    # FID vs steps: one curve per run (not one per column), with the paper's own panel
    curves = (root / "reports" / "imgtab-curves.csv").read_text().splitlines()
    assert len(curves) == 1 + 2 * 2  # header, 2 rows x evaluations at steps 2 and 4
    assert "one run per row (the columns are its steps)" in md


def test_the_golden_gate_passes_a_rerun_and_fails_a_perturbed_fid(image_table, capsys):
    from mutorbench.bench.runner import run_table
    from mutorbench.cli import main

    paths, kw, root = image_table
    assert main(["check", "--results", str(root / "r"), "--golden", str(root / "g"),
                 "--bless", "imgtab-tiny"]) == 0
    golden = (root / "g" / "imgtab-tiny.yaml").read_text()
    assert "precision: 0.01" in golden and "fid: 1.0" in golden
    import shutil

    shutil.rmtree(root / "r")
    run_table("imgtab", **kw)  # an unchanged rerun: the same numbers
    capsys.readouterr()
    assert main(["check", "--results", str(root / "r"), "--golden", str(root / "g")]) == 0
    data = json.loads(paths[0].read_text())
    data["metrics"]["selected"]["values"]["fid"] += 1.5
    paths[0].write_text(json.dumps(data))
    assert main(["check", "--results", str(root / "r"), "--golden", str(root / "g")]) == 1
    assert "DRIFT" in capsys.readouterr().out
