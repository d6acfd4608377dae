"""`mutor-bench params`: the paper's parameter counts (Table 4), from the shipped architectures."""

import json

import pytest

from mutorbench.cli import main


def params(capsys, *argv):
    assert main(["params", *argv]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("method,sets,added", [
    ("mutor", [], 2_048),  # Table 4: "2K" (one register row, tied head)
    ("mutor", ["method.d_max=4", "method.registers=per_offset"], 8_192),
    ("ntp", [], 0),
])
def test_gemma_2b_exact_counts(capsys, method, sets, added):
    sets = [x for s in sets for x in ("--set", s)]
    out = params(capsys, "--model", "gemma-2b", "--method", method, *sets)
    assert out["added_params"] == added and out["base_params"] == 2_506_172_416
    assert out["trainable_params"] == out["base_params"] + added


@pytest.mark.parametrize("d_max,paper", [(2, 110e6), (3, 220e6), (4, 330e6), (6, 550e6)])
def test_gemma_2b_multi_token_heads_match_table_4(capsys, d_max, paper):
    out = params(capsys, "--model", "gemma-2b", "--method", "multi_token", "--set",
                 f"method.d_max={d_max}")
    assert out["added_params"] == pytest.approx(paper, rel=0.02)


def test_untied_head_counts_register_rows_twice_and_bad_model_is_one_error(capsys, tmp_path):
    assert params(capsys, "--model", "llama-3-8b", "--method", "mutor")["added_params"] == 2 * 4096
    assert main(["params", "--model", str(tmp_path / "none"), "--method", "ntp"]) == 2
    assert "cannot load a model config" in capsys.readouterr().err
    assert main(["params", "--model", "gemma-2b", "--method", "lora"]) == 2
    assert "config error at method" in capsys.readouterr().err


def test_gemma_2b_ds_multi_token_matches_the_paper(capsys):
    out = params(capsys, "--model", "gemma-2b", "--method", "ds_multi_token")
    assert out["added_params"] == pytest.approx(118e6, rel=0.02)  # App. C.1: 118M


def test_gemma_2b_lora_rank_32_trainable(capsys):
    out = params(capsys, "--model", "gemma-2b", "--method", "ntp", "--set", "peft=lora",
                 "--set", "lora.r=32")
    assert out["trainable_params"] == 39_223_296  # ~39.2M: r * (in + out) on every linear layer
