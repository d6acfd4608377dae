"""`mutor-bench plot`: the loss parts of paired runs in one figure, read from their logs."""

import json

from mutorbench.cli import main
from mutorbench.report.loss_curves import read_log


def _fake_run(folder, parts, steps=5):
    folder.mkdir(parents=True)
    rows = [{"step": s, "loss": 3.0 / s, **{f"loss_{p}": 2.0 / s for p in parts}}
            for s in range(1, steps + 1)]
    (folder / "log.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder


def test_paired_runs_in_one_figure_and_one_run_beside_itself(tmp_path, capsys):
    ntp = _fake_run(tmp_path / "ntp-seed0", ["regular"])
    mutor = _fake_run(tmp_path / "mutor-seed0", ["regular", "register"])
    assert main(["plot", str(ntp), str(mutor)]) == 0
    figure = tmp_path / "loss--ntp-seed0--mutor-seed0.png"
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and figure.stat().st_size > 5000
    assert f"written: {figure}" in capsys.readouterr().out
    assert main(["plot", str(mutor), "--out", str(tmp_path / "figs" / "m.png")]) == 0
    assert (tmp_path / "figs" / "m.png").stat().st_size > 5000
    assert main(["plot", str(mutor)]) == 0 and (mutor / "loss.png").exists()
    assert [r["step"] for r in read_log(mutor)] == [1, 2, 3, 4, 5]


def test_a_folder_without_a_log_is_one_line_and_nothing_is_written(tmp_path, capsys):
    ntp = _fake_run(tmp_path / "ntp-seed0", ["regular"])
    (tmp_path / "empty").mkdir()
    assert main(["plot", str(ntp), str(tmp_path / "empty")]) == 2
    err = capsys.readouterr().err
    assert err == f"mutor-bench: error: {tmp_path / 'empty'}: not a run folder (no log.jsonl)\n"
    assert not list(tmp_path.glob("*.png")) and not list(ntp.glob("*.png"))
    (ntp / "log.jsonl").write_text('{"step": 1, "loss": 2.0}\n{"step": 2, "lo')
    assert main(["plot", str(ntp)]) == 2
    assert "log.jsonl:2: not valid JSON" in capsys.readouterr().err
