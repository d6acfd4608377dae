"""`mutor-bench train` input handling: every bad config is one clear error, before any work."""

import pytest

from mutorbench.cli import main
from mutorbench.train.config import load_config


@pytest.mark.parametrize(
    "sets,message",
    [
        (["budget.amount=-1"], "config error at budget.amount: Input should be greater than 0"),
        (["budget.kind=hours"], "config error at budget.kind"),
        (["nonsense=3"], "config error at nonsense: unknown key"),
        (["optim.learning_rate=1e-3"], "config error at optim.learning_rate: unknown key"),
        (["optim.lr=fast"], "config error at optim.lr: Input should be a valid number"),
        (["seed=1.5"], "config error at seed: Input should be a valid integer"),
        (["seed='3'"], "config error at seed: Input should be a valid integer"),
        (["method.id=ntp", "method.d_max=3"], "config error at method.d_max: unknown key"),
        (["method.id=mutor", "method.a=1.5"], "config error at method.a"),
        (["method.id=medusa"], "config error at method: needs `id`"),
        (["batch.micro_batch_size=0"], "config error at batch.micro_batch_size"),
        (["precision=fp8"], "config error at precision"),
        (["seed"], "--set expects key=value"),
        (["optim.lr=[1"], "--set optim.lr: malformed YAML"),
    ],
)
def test_bad_config_exits_nonzero_and_writes_nothing(tmp_path, capsys, sets, message):
    argv = ["train", "--set", f"output_dir={tmp_path / 'out'}"]
    for s in sets:
        argv += ["--set", s]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("mutor-bench: error: ") and message in err
    assert err.count("\n") == 1  # one line
    assert not (tmp_path / "out").exists()


def test_config_files(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: {arch: [gemma\n")
    assert main(["train", "--config", str(bad)]) == 2
    assert "malformed YAML" in capsys.readouterr().err
    assert main(["train", "--config", str(tmp_path / "missing.yaml")]) == 2
    assert "config file not found" in capsys.readouterr().err
    listy = tmp_path / "list.yaml"
    listy.write_text("- 1\n- 2\n")
    assert main(["train", "--config", str(listy)]) == 2
    assert "top level must be a mapping" in capsys.readouterr().err


def test_shipped_configs_parse_and_yaml12_floats():
    for name in ("tiny-ntp", "tiny-mutor"):
        cfg = load_config(f"configs/{name}.yaml")
        assert cfg.method.id == name.split("-")[1]
    cfg = load_config(None, ["optim.lr=1e-3", "method.id=mutor", "method.a=.5"])
    assert cfg.optim.lr == 1e-3 and cfg.method.a == 0.5
