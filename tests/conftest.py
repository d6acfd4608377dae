import os

for _flag in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
    os.environ.setdefault(_flag, "1")

import pytest
import torch

from mutorbench.models.tiny import build_model, tiny_config
from tests.helpers import BOS, EOS, PAD, VOCAB


@pytest.fixture(scope="session")
def tiny_models():
    """One tiny model per (architecture, attention implementation), same seed."""
    cache = {}

    def get(arch: str, attn: str, dtype=torch.float32):
        key = (arch, attn, dtype)
        if key not in cache:
            cfg = tiny_config(arch, VOCAB, bos_token_id=BOS, eos_token_id=EOS, pad_token_id=PAD)
            cache[key] = build_model(cfg, seed=0, attn_implementation=attn, dtype=dtype).eval()
        return cache[key]

    return get


@pytest.fixture(scope="session")
def digits_cnn_dir(tmp_path_factory):
    """The digits classifier (the tiny image feature space), trained once per test session."""
    pytest.importorskip("sklearn")
    from mutorbench.evaluation import digits_features

    folder = tmp_path_factory.mktemp("digits-cnn")
    digits_features.ensure_classifier(folder, seed=0)
    return folder
