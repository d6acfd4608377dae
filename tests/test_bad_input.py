"""Acceptance 8 and the support matrix: bad input fails with a ValueError that names the problem."""

import pytest
import torch
from transformers import Gemma2Config, MistralConfig, Qwen2Config

from mutorbench.methods.mutor import MuToR, build_mutor_inputs
from mutorbench.methods.ntp import build_ntp_inputs
from mutorbench.models.support import check_supported
from mutorbench.models.tiny import build_model, tiny_config

OK = dict(offsets=[1], register_id=9, pad_id=0)


@pytest.mark.parametrize(
    "prompts,answers,kwargs,message",
    [
        ([[1, 2]], [[]], OK, "empty answer"),
        ([[]], [[3]], OK, "empty prompt"),
        ([], [], dict(OK, offsets=[]), "empty batch"),
        ([[1]], [[3]], dict(OK, offsets=[0]), "offset d must be an int >= 1"),
        ([[1]], [[3]], dict(OK, offsets=[-2]), "offset d must be an int >= 1"),
        ([[1]], [[3]], dict(OK, offsets=[1.5]), "offset d must be an int >= 1"),
        ([[1]], [[3]], dict(OK, prefix_attention="full"), "unknown prefix_attention 'full'"),
        ([[1]], [[3]], dict(OK, register_id=0), "register id equals pad id 0"),
        ([[1]], [[3]], dict(OK, register_id=[9, 0]), "register id equals pad id 0"),
        ([[1], [2]], [[3]], dict(OK, offsets=[1, 1]), "got 2 prompts but 1 answers"),
        ([[1], [2]], [[3], [4]], OK, "got 1 offsets for 2 examples"),
        ([[1]], [[3, 4, 5]], dict(OK, offsets=[3], register_id=[7, 8]),
         "per-offset register list has 2 ids but an offset d=3 needs at least 3"),
        ([[1]], [[3]], dict(OK, dtype=torch.long), "floating dtype"),
        ([[1]], [[-3]], OK, "non-negative integers"),
        ([[1]], [[3.5]], OK, "non-negative integers"),
    ],
)
def test_mutor_bad_input(prompts, answers, kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        build_mutor_inputs(prompts, answers, **kwargs)


def test_ntp_bad_input():
    with pytest.raises(ValueError, match="empty answer"):
        build_ntp_inputs([[1]], [[]], pad_id=0)
    with pytest.raises(ValueError, match="unknown prefix_attention"):
        build_ntp_inputs([[1]], [[2]], pad_id=0, prefix_attention="bidi")
    with pytest.raises(ValueError, match="got 1 prompts but 2 answers"):
        build_ntp_inputs([[1]], [[2], [3]], pad_id=0)


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (dict(d_min=0), "1 <= d_min <= d_max"),
        (dict(d_min=5, d_max=4), "1 <= d_min <= d_max"),
        (dict(a=1.5), "loss coefficient a"),
        (dict(registers="many"), "unknown registers mode"),
        (dict(reduction="sum"), "unknown loss reduction"),
    ],
)
def test_objective_bad_hyperparameters(kwargs, message):
    with pytest.raises(ValueError, match=message):
        MuToR(**kwargs)


def test_objective_needs_prepare():
    with pytest.raises(RuntimeError, match="prepare"):
        _ = MuToR().register_ids


@pytest.mark.parametrize(
    "config",
    [
        Gemma2Config(vocab_size=64, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                     num_key_value_heads=2, head_dim=16, intermediate_size=64),
        MistralConfig(vocab_size=64, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                      num_key_value_heads=2, intermediate_size=64, sliding_window=16),
        Qwen2Config(vocab_size=64, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                    num_key_value_heads=2, intermediate_size=64, use_sliding_window=True,
                    sliding_window=16, max_window_layers=0),
    ],
    ids=["gemma2", "mistral-window", "qwen2-window"],
)
def test_sliding_window_models_are_refused(config):
    with pytest.raises(ValueError, match="sliding-window attention"):
        check_supported(config)


def test_supported_configs_pass_and_unknown_attention_is_refused():
    for arch in ("llama", "gemma", "qwen2", "gpt2"):
        check_supported(tiny_config(arch, 64))
    check_supported(MistralConfig(vocab_size=64, sliding_window=None))
    # flex_attention is an implementation MuToR's masks support (a BlockMask); others are not
    build_model(tiny_config("llama", 64), seed=0, attn_implementation="flex_attention")
    with pytest.raises(ValueError, match="'flash_attention_2' is not supported with MuToR's masks"):
        build_model(tiny_config("llama", 64), seed=0, attn_implementation="flash_attention_2")
    with pytest.raises(ValueError, match="unknown tiny architecture"):
        tiny_config("mamba", 64)
