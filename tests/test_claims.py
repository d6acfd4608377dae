"""`mutor-bench claims`: the paper's claims as data, each verdict on hand-made results."""

import json
import textwrap

import numpy as np
import pytest

from mutorbench.bench.runner import run_table
from mutorbench.cli import main
from mutorbench.report.claims import check_claims, load_claims, summary_line, verdict
from mutorbench.results import generations_path, load_result

SPEC = textwrap.dedent("""
    table: claimtab
    title: claims test table
    paper: table1
    columns:
      - {id: arith, paper: {accuracy: gsm8k@gsm8k},
         overrides: {task: {name: arith, train_examples: 24, eval_examples: 6}}}
      - {id: other, paper: {accuracy: gsm8k@1m-gsm},
         overrides: {task: {name: arith, data_seed: 7, train_examples: 24, eval_examples: 6}}}
    rows:
      - {id: ntp, paper_row: gemma-2b/ntp, overrides: {method: {id: ntp}}}
      - {id: mutor, paper_row: gemma-2b/mutor, overrides: {method: {id: mutor, d_max: 3}}}
      - {id: tie, overrides: {method: {id: mutor, d_max: 2}}}
      - {id: skip, status: not_run, reason: not here}
    scales:
      tiny:
        seeds: [0, 1]
        base: {model: {hidden_size: 32}, tokenizer: {vocab_size: 300}, batch: {micro_batch_size: 4},
               budget: {kind: steps, amount: 2}, eval: {max_new_tokens: 4}}
""")

CLAIMS = textwrap.dedent("""
    groups:
      - group: hand-made
        table: claimtab
        metric: accuracy
        claims:
          - {better: mutor, than: ntp, column: arith}
          - {better: ntp, than: mutor, column: arith}
          - {better: tie, than: ntp, column: arith}
          - {better: tie, than: ntp, column: arith, relation: similar, margin: 1.0}
          - {better: mutor, than: ntp, column: arith, relation: similar, margin: 1.0}
          - {better: skip, than: ntp, column: arith}
      - group: images later
        table: table7
        metric: fid
        status: pending
        reason: no spec yet
        claims:
          - {better: 100k/mutor2d, than: 100k/ntp, column: fid}
""")


def set_verdicts(result_path, pattern):
    """Rewrite the selected checkpoint's logged verdicts (the per-example scores claims pair)."""
    r = load_result(result_path)
    cp = r.metrics.selected.checkpoint
    log = generations_path(result_path.parent, cp.step, cp.split)
    rows = [json.loads(x) for x in log.read_text().splitlines()]
    log.write_text("".join(json.dumps(dict(row, correct=bool(pattern[i]))) + "\n"
                           for i, row in enumerate(rows)))


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    root = tmp_path_factory.mktemp("claims")
    (root / "specs").mkdir()
    (root / "specs" / "claimtab.yaml").write_text(SPEC)
    (root / "claims.yaml").write_text(CLAIMS)
    paths = run_table("claimtab", scale="tiny", spec_root=root / "specs",
                      output_root=str(root / "results"), progress=False, reports_root=None)
    for path in paths:
        row = load_result(path).cell["row"]
        set_verdicts(path, {"ntp": [0, 0, 1, 0, 0, 0], "mutor": [1] * 6,
                            "tie": [0, 0, 1, 0, 0, 0]}[row])
    return root


def run_claims(root, **kw):
    return check_claims("tiny", claims_path=root / "claims.yaml", spec_root=root / "specs",
                        results_root=str(root / "results"), **kw)


def test_each_verdict_on_hand_made_results(made):
    frame = run_claims(made)
    got = dict(zip(frame["claim"], frame["verdict"]))
    assert got == {
        "claimtab arith: mutor > ntp": "holds",
        "claimtab arith: ntp > mutor": "contradicted",
        "claimtab arith: tie > ntp": "inconclusive",
        "claimtab arith: tie ~ ntp": "holds",
        "claimtab arith: mutor ~ ntp": "contradicted",
        "claimtab arith: skip > ntp": "not run",
        "table7 fid: 100k/mutor2d > 100k/ntp": "pending"}
    first = frame.iloc[0]
    assert first["delta"] == pytest.approx(100 * 5 / 6) and first["seeds"] == 2
    assert first["ci_low"] > 0
    assert first["paper_delta"] == pytest.approx(42.10 - 38.87)  # from the paper's cells
    assert frame.iloc[6]["paper_delta"] == pytest.approx(6.57 - 7.71)  # pending: paper ids
    assert "not run at scale 'tiny'" in frame.iloc[5]["note"]
    assert summary_line(frame, "tiny") == ("5 of 7 claims checked at tiny scale: 2 hold, "
                                           "2 contradicted, 1 inconclusive (1 not run, 1 pending)")


def test_cells_scored_on_different_examples_are_refused(made):
    (made / "cross.yaml").write_text(textwrap.dedent("""
        groups:
          - group: across columns
            table: claimtab
            metric: accuracy
            claims:
              - {better: mutor, than: ntp, column: arith, than_column: other}
    """))
    with pytest.raises(ValueError, match="scored on different test examples"):
        check_claims("tiny", claims_path=made / "cross.yaml", spec_root=made / "specs",
                     results_root=str(made / "results"))


def test_cli_prints_the_summary_and_writes_the_report(made, capsys):
    assert main(["claims", "--scale", "tiny", "--claims", str(made / "claims.yaml"),
                 "--specs", str(made / "specs"), "--results", str(made / "results"),
                 "--reports", str(made / "reports")]) == 0
    out = capsys.readouterr().out
    assert "5 of 7 claims checked at tiny scale: 2 hold" in out
    assert (made / "reports" / "claims-tiny.png").stat().st_size > 5000
    assert "| claimtab arith: mutor > ntp" in (made / "reports" / "claims-tiny.md").read_text()


def test_verdict_follows_the_metrics_direction():
    assert verdict(1.0, 2.0, higher_is_better=True, relation="better", margin=None) == "holds"
    lower = {"higher_is_better": False, "relation": "better", "margin": None}
    assert verdict(1.0, 2.0, **lower) == "contradicted"
    assert verdict(-2.0, -1.0, **lower) == "holds"
    assert verdict(-1.0, 2.0, **lower) == "inconclusive"


def test_the_shipped_claims_resolve_and_agree_with_the_papers_numbers():
    claims = load_claims()
    assert sum(len(g.claims) for g in claims.groups) == 85
    frame = check_claims("tiny", results_root="/nonexistent-results")
    assert set(frame["verdict"]) == {"not run"}  # every table has a spec now
    image = frame[frame["table"].isin(["table7", "table8", "table9", "table15"])]
    assert len(image) == 15 and image["paper_delta"].notna().all()  # on the specs' own cells
    # each claim with paper numbers points the way the paper's own numbers do
    numbered = frame[frame["paper_delta"].notna() & (frame["expects"].str.startswith("Δ"))]
    assert len(numbered) == 85 - 4 - 1  # Figure 4 has no numbers; one similarity claim
    for _, r in numbered.iterrows():
        sign = np.sign(r["paper_delta"])
        assert sign == (1 if r["expects"] == "Δ > 0" else -1), r["claim"]
    paper_scale = check_claims("paper", results_root="/nonexistent-results")
    assert "has no result at scale 'paper'" in paper_scale.iloc[0]["note"]


def test_a_malformed_claims_file_is_one_clear_error(tmp_path, capsys):
    (tmp_path / "c.yaml").write_text("groups: [{group: g, table: table1, metric: accuracy, "
                                     "claims: [{better: a, than: b}]}]\n")
    assert main(["claims", "--scale", "tiny", "--claims", str(tmp_path / "c.yaml")]) == 2
    assert "invalid at groups.0.claims.0.column" in capsys.readouterr().err
    (tmp_path / "c.yaml").write_text("groups: [{group: g, table: table1, metric: bleu, "
                                     "claims: [{better: a, than: b, column: c}]}]\n")
    assert main(["claims", "--scale", "tiny", "--claims", str(tmp_path / "c.yaml")]) == 2
    assert "unknown metric 'bleu'" in capsys.readouterr().err
