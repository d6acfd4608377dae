"""VQ-16, LlamaGen's image tokenizer: LlamaGen's names and shapes (its checkpoints load strictly),
sizes read from a file, codes <-> images at 256 x 256, and the uint8 conversion of its sampler.
(Checked once against LlamaGen's own code on the same random weights, outside the repository:
identical codes and decoded images; see issue 15's note.)"""

import argparse
import ast
from pathlib import Path

import pytest
import torch

from mutorbench.models.vq16 import (
    TINY_VQ,
    VQ16,
    VQConfig,
    VQModel,
    config_from_state_dict,
    load_vq_checkpoint,
    to_uint8,
)

FIXTURE = Path(__file__).parent / "fixtures" / "llamagen_vq16_state_dict.txt"


def llamagen_vq16_names() -> dict[str, tuple[int, ...]]:
    rows = [line.split(" ", 1) for line in FIXTURE.read_text().splitlines()
            if line and not line.startswith("#")]
    return {name: tuple(ast.literal_eval(shape)) for name, shape in rows}


def generated_state_dict(names: dict, seed: int = 0) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return {k: torch.randn(shape, generator=gen) * 0.05 for k, shape in names.items()}


def test_vq16_has_llamagens_names_and_shapes():
    ours = {k: tuple(v.shape) for k, v in VQModel(VQ16).state_dict().items()}
    assert ours == llamagen_vq16_names()
    assert len(ours) == 344 and ours["quantize.embedding.weight"] == (16384, 8)
    # 71.9M parameters (LlamaGen's VQ-16: 72M)
    assert sum(p.numel() for p in VQModel(VQ16).parameters()) == 71_883_403


def test_a_state_dict_of_llamagens_names_loads_strictly_and_a_short_one_is_one_error(tmp_path):
    state = generated_state_dict(llamagen_vq16_names())
    path = tmp_path / "vq_ds16_c2i.pt"
    # as LlamaGen's vq_train.py saves: its argparse args beside the weights
    torch.save({"model": state, "optimizer": {}, "steps": 0,
                "args": argparse.Namespace(vq_model="VQ-16", codebook_size=16384)}, path)
    vq = load_vq_checkpoint(path)
    assert vq.config == VQ16 and not vq.training
    assert torch.equal(vq.quantize.embedding.weight, state["quantize.embedding.weight"])
    del state["decoder.conv_out.bias"]
    torch.save(state, path)  # a bare state dict
    with pytest.raises(ValueError, match=r'Missing key.* "decoder.conv_out.bias"'):
        load_vq_checkpoint(path)
    with pytest.raises(ValueError, match="--set task.vq_checkpoint=PATH"):
        load_vq_checkpoint(tmp_path / "absent.pt")


@pytest.mark.parametrize("cfg", [VQ16, TINY_VQ, VQConfig(ch_mult=(1, 2, 2, 4))])  # and VQ-8
def test_sizes_are_read_from_the_state_dict(cfg):
    assert config_from_state_dict(VQModel(cfg).state_dict()) == cfg


def test_a_256_image_is_a_16x16_grid_and_back():
    torch.manual_seed(0)
    vq = VQModel(VQ16).eval()
    images = torch.rand(1, 3, 256, 256) * 2 - 1
    codes = vq.encode_codes(images)
    assert codes.shape == (1, 16, 16) and codes.dtype == torch.long
    assert int(codes.min()) >= 0 and int(codes.max()) < 16384
    decoded = vq.decode_codes(codes)
    assert decoded.shape == (1, 3, 256, 256)
    # codes are the nearest l2-normalised codebook vectors of the normalised encoder outputs
    z = vq.quant_conv(vq.encoder(images))[0].permute(1, 2, 0).reshape(-1, 8)
    cosine = torch.nn.functional.normalize(z, dim=-1) @ vq.quantize.codebook().T
    assert torch.equal(codes.reshape(-1), cosine.argmax(-1))


def test_decoded_floats_become_uint8_as_llamagens_sampler_does():
    x = torch.tensor([-2.0, -1.0, -0.5, 0.0, 0.996, 1.0, 3.0])
    # clamp(127.5 x + 128, 0, 255), truncated: -1 -> 0.5 -> 0, 0 -> 128, 1 -> 255.5 -> 255
    assert to_uint8(x).tolist() == [0, 0, 64, 128, 254, 255, 255]
