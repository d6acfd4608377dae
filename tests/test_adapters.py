"""Model adapters: every supported family's parts are found by its adapter, not by guessing."""

import pytest
import torch

from mutorbench.models.adapters import ADAPTERS, adapter_for
from mutorbench.models.tiny import build_model, tiny_config
from tests.helpers import ARCHS


@pytest.mark.parametrize("arch", ARCHS)
def test_the_adapter_finds_every_part(arch):
    model = build_model(tiny_config(arch, 64, num_layers=3), seed=0)
    adapter = adapter_for(model)
    layers = adapter.layers_of(model)
    assert isinstance(layers, torch.nn.ModuleList) and len(layers) == 3
    assert adapter.embeddings_of(model) is model.get_input_embeddings()
    assert adapter.head_of(model) is model.get_output_embeddings()
    norm = adapter.norm_of(model)
    assert sum(p.numel() for p in norm.parameters()) in (32 * 2, 64, 64 * 2)  # a final norm
    if arch == "gpt2":
        with pytest.raises(ValueError, match="rotary embeddings"):
            adapter.rotary_of(model)
    else:
        assert adapter.rotary_of(model) is not None


def test_an_unknown_family_is_refused_naming_the_adapters():
    class Fake(torch.nn.Module):
        config = type("C", (), {"model_type": "mamba"})()

    with pytest.raises(ValueError, match="no model adapter .*'mamba'.*adapters: llama, gemma"):
        adapter_for(Fake())
    assert {"llama", "gemma", "qwen2", "gpt2"} <= set(ADAPTERS.names())


def test_the_tiny_gpt2_gelu_is_gpt2s_tanh_gelu():
    """The tiny GPT-2 runs PyTorch's fused tanh GELU for speed: the same model as gelu_new (GPT-2's
    and Bachmann & Nagarajan's formula) to float precision, same weights and logits."""
    cfg = tiny_config("gpt2", 64, num_layers=2)
    assert cfg.activation_function == "gelu_pytorch_tanh"
    fused = build_model(cfg, seed=0).eval()
    cfg.activation_function = "gelu_new"
    formula = build_model(cfg, seed=0).eval()
    ids = torch.randint(0, 64, (3, 11), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        a, b = fused(input_ids=ids).logits, formula(input_ids=ids).logits
    assert a.abs().max() > 0.01
    torch.testing.assert_close(a, b, rtol=0, atol=1e-5)
