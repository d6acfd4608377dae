"""`mutor-bench report table10`: the tuned hyper-parameters beside the released checkpoints."""

import pytest

from mutorbench.cli import main
from mutorbench.report.hparams import hparams_frame, released_values


def test_released_names_parse():
    assert released_values("nasos10/MuToR-gemma-2B-GSM8K-dmax_4_a_03") == {"d_max": 4, "a": 0.3}
    assert released_values("x-dmax_5_a_01") == {"d_max": 5, "a": 0.1}
    with pytest.raises(ValueError, match="does not end in dmax_<N>_a_<NN>"):
        released_values("nasos10/MuToR-gemma-2B")


def test_the_three_conflicts_of_the_paper_are_marked():
    frame = hparams_frame()
    conflicts = frame[frame["conflict"] != ""]
    assert {(r["model"], r["train"], r["conflict"]) for _, r in conflicts.iterrows()} == {
        ("Gemma 2B", "1M-MATH", "released name: d_max 3, a 0.2"),
        ("Llama 3 8B", "1M-GSM", "released name: d_max 5, a 0.1"),
        ("Llama 3 8B", "1M-MATH", "released name: a 0.1")}
    readers = frame.set_index(["table", "row"])["used_by"]
    assert readers[("table10", "gsm8k")].startswith("table1: gemma-2b/mutor; table4: mutor/2 (a)")
    assert readers[("table10", "2m-gsm")] == "table1: gemma-2b/mutor"
    assert "table16: ds_multi_token" in readers[("table10", "ds_multi_token")]


def test_cli_writes_the_report(tmp_path, capsys):
    assert main(["report", "table11", "--reports", str(tmp_path)]) == 0
    md = (tmp_path / "table10.md").read_text()
    assert "3 released checkpoint names disagree" in md
    assert "Table 11 repeats Table 10's rows gsm8k, 1m-gsm, 2m-gsm, 1m-math." in md
    assert "**released name: d_max 5, a 0.1**" in md and "| Llama 3 8B | 1M-GSM" in md
    assert "table10.md" in capsys.readouterr().out
