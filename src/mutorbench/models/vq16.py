"""LlamaGen's image tokenizer VQ-16 (paper §5.4): 256 x 256 RGB <-> a 16 x 16 grid of codes.

Written from LlamaGen's ``tokenizer/tokenizer_image/vq_model.py`` read as a reference (nothing
copied): a convolutional encoder (channels 128 x (1, 1, 2, 2, 4), two residual blocks per level,
self-attention at the last level and in the middle, GroupNorm(32), swish), a 1x1 projection to 8
dimensions, l2-normalised nearest-code quantisation against 16,384 l2-normalised codes, and the
mirrored decoder. Parameter names and shapes are LlamaGen's, so ``vq_ds16_c2i.pt`` loads strictly
(``load_vq16_checkpoint``). Inference only: no losses, no codebook-usage bookkeeping (its buffer
``quantize.codebook_used`` is kept so that the names match).

Pixels: the encoder takes floats in [-1, 1] (``ToTensor`` then ``Normalize(0.5, 0.5)``); decoded
floats become uint8 as LlamaGen's FID sampler does, ``clamp(127.5 x + 128, 0, 255)`` truncated.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class VQConfig:
    codebook_size: int = 16384
    codebook_embed_dim: int = 8
    ch: int = 128
    ch_mult: tuple[int, ...] = (1, 1, 2, 2, 4)  # VQ-16: four 2x downsamplings
    z_channels: int = 256
    num_res_blocks: int = 2

    @property
    def downsample(self) -> int:
        return 2 ** (len(self.ch_mult) - 1)


VQ16 = VQConfig()
# a small VQ of the same structure (0.7M parameters, 2x downsampling), for tests and CPU smoke
# runs: not a tokenizer of any quality
TINY_VQ = VQConfig(codebook_size=64, codebook_embed_dim=8, ch=32, ch_mult=(1, 2), z_channels=32,
                   num_res_blocks=1)


def swish(x: torch.Tensor) -> torch.Tensor:
    return x * torch.sigmoid(x)


def group_norm(channels: int) -> nn.GroupNorm:
    return nn.GroupNorm(32, channels, eps=1e-6, affine=True)


class ResnetBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.norm1, self.conv1 = group_norm(c_in), nn.Conv2d(c_in, c_out, 3, padding=1)
        self.norm2, self.conv2 = group_norm(c_out), nn.Conv2d(c_out, c_out, 3, padding=1)
        self.dropout = nn.Dropout(0.0)  # LlamaGen's dropout_p is 0 for VQ-16
        if c_in != c_out:
            self.nin_shortcut = nn.Conv2d(c_in, c_out, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv1(swish(self.norm1(x)))
        h = self.conv2(self.dropout(swish(self.norm2(h))))
        skip = self.nin_shortcut(x) if hasattr(self, "nin_shortcut") else x
        return skip + h


class AttnBlock(nn.Module):
    """Single-head self-attention over the h x w positions (1x1 convolutions for q, k, v)."""

    def __init__(self, c: int):
        super().__init__()
        self.norm = group_norm(c)
        self.q, self.k, self.v = (nn.Conv2d(c, c, 1) for _ in range(3))
        self.proj_out = nn.Conv2d(c, c, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        y = self.norm(x)
        q, k, v = (m(y).reshape(b, c, h * w) for m in (self.q, self.k, self.v))
        weights = torch.softmax(torch.einsum("bci,bcj->bij", q, k) * c ** -0.5, dim=2)
        out = torch.einsum("bcj,bij->bci", v, weights).reshape(b, c, h, w)
        return x + self.proj_out(out)


class Downsample(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, stride=2, padding=0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.pad(x, (0, 1, 0, 1)))  # right/bottom padding only, as LlamaGen


class Upsample(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


def _level(blocks: list[nn.Module], attention: list[nn.Module]) -> nn.Module:
    """One resolution level, named as LlamaGen's ``conv_blocks[i]`` (``res``, ``attn``)."""
    level = nn.Module()
    level.res, level.attn = nn.ModuleList(blocks), nn.ModuleList(attention)
    return level


def _through(level: nn.Module, h: torch.Tensor) -> torch.Tensor:
    """A level's residual blocks, each followed by its attention block where the level has them."""
    for k, block in enumerate(level.res):
        h = block(h)
        if len(level.attn):
            h = level.attn[k](h)
    return h


def _middle(c: int) -> nn.ModuleList:
    return nn.ModuleList([ResnetBlock(c, c), AttnBlock(c), ResnetBlock(c, c)])


class Encoder(nn.Module):
    def __init__(self, cfg: VQConfig, in_channels: int = 3):
        super().__init__()
        n = len(cfg.ch_mult)
        self.conv_in = nn.Conv2d(in_channels, cfg.ch, 3, padding=1)
        self.conv_blocks = nn.ModuleList()
        c = cfg.ch
        for i, mult in enumerate(cfg.ch_mult):
            c_out = cfg.ch * mult
            blocks = [ResnetBlock(c if j == 0 else c_out, c_out) for j in range(cfg.num_res_blocks)]
            c = c_out
            level = _level(blocks, [AttnBlock(c) for _ in blocks] if i == n - 1 else [])
            if i != n - 1:
                level.downsample = Downsample(c)
            self.conv_blocks.append(level)
        self.mid = _middle(c)
        self.norm_out = group_norm(c)
        self.conv_out = nn.Conv2d(c, cfg.z_channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv_in(x)
        for level in self.conv_blocks:
            h = _through(level, h)
            if hasattr(level, "downsample"):
                h = level.downsample(h)
        for block in self.mid:
            h = block(h)
        return self.conv_out(swish(self.norm_out(h)))


class Decoder(nn.Module):
    def __init__(self, cfg: VQConfig, out_channels: int = 3):
        super().__init__()
        n = len(cfg.ch_mult)
        c = cfg.ch * cfg.ch_mult[-1]
        self.conv_in = nn.Conv2d(cfg.z_channels, c, 3, padding=1)
        self.mid = _middle(c)
        self.conv_blocks = nn.ModuleList()
        for i in reversed(range(n)):  # deepest level first
            c_out = cfg.ch * cfg.ch_mult[i]
            blocks = [ResnetBlock(c if j == 0 else c_out, c_out)
                      for j in range(cfg.num_res_blocks + 1)]
            c = c_out
            level = _level(blocks, [AttnBlock(c) for _ in blocks] if i == n - 1 else [])
            if i != 0:
                level.upsample = Upsample(c)
            self.conv_blocks.append(level)
        self.norm_out = group_norm(c)
        self.conv_out = nn.Conv2d(c, out_channels, 3, padding=1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.conv_in(z)
        for block in self.mid:
            h = block(h)
        for level in self.conv_blocks:
            h = _through(level, h)
            if hasattr(level, "upsample"):
                h = level.upsample(h)
        return self.conv_out(swish(self.norm_out(h)))


class Quantizer(nn.Module):
    """Nearest code by l2 distance between l2-normalised vectors (VQ-16 normalises both)."""

    def __init__(self, cfg: VQConfig):
        super().__init__()
        self.embedding = nn.Embedding(cfg.codebook_size, cfg.codebook_embed_dim)
        # LlamaGen's training statistic; unused here, kept so that its checkpoints load strictly
        self.register_buffer("codebook_used", torch.zeros(65536))

    def codebook(self) -> torch.Tensor:
        return F.normalize(self.embedding.weight, p=2, dim=-1)

    def codes(self, z: torch.Tensor) -> torch.Tensor:
        """[B, D, h, w] -> [B, h, w] code indices."""
        b, d, h, w = z.shape
        flat = F.normalize(z.permute(0, 2, 3, 1).reshape(-1, d), p=2, dim=-1)
        book = self.codebook()
        distance = (flat ** 2).sum(1, keepdim=True) + (book ** 2).sum(1) - 2 * flat @ book.T
        return distance.argmin(dim=1).reshape(b, h, w)

    def vectors(self, codes: torch.Tensor) -> torch.Tensor:
        """[B, h, w] code indices -> [B, D, h, w]."""
        return self.codebook()[codes].permute(0, 3, 1, 2).contiguous()


class VQModel(nn.Module):
    def __init__(self, cfg: VQConfig = VQ16):
        super().__init__()
        self.config = cfg
        self.encoder, self.decoder = Encoder(cfg), Decoder(cfg)
        self.quantize = Quantizer(cfg)
        self.quant_conv = nn.Conv2d(cfg.z_channels, cfg.codebook_embed_dim, 1)
        self.post_quant_conv = nn.Conv2d(cfg.codebook_embed_dim, cfg.z_channels, 1)

    @torch.no_grad()
    def encode_codes(self, images: torch.Tensor) -> torch.Tensor:
        """Floats in [-1, 1], [B, 3, H, W] -> codes [B, H/16, W/16]."""
        return self.quantize.codes(self.quant_conv(self.encoder(images)))

    @torch.no_grad()
    def decode_codes(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes [B, h, w] -> floats [B, 3, 16h, 16w], about [-1, 1]."""
        return self.decoder(self.post_quant_conv(self.quantize.vectors(codes)))


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """Decoded floats -> uint8 [B, 3, H, W] as LlamaGen's FID sampler converts them."""
    return torch.clamp(127.5 * images + 128.0, 0, 255).to(torch.uint8)


def config_from_state_dict(state: dict) -> VQConfig:
    """The sizes of a VQ of LlamaGen's structure, read off its tensors (VQ-16, VQ-8, or the tiny
    test size); everything else is checked by the strict load."""
    try:
        ch = state["encoder.conv_in.weight"].shape[0]
        levels = sorted({int(k.split(".")[2]) for k in state
                         if k.startswith("encoder.conv_blocks.")})
        blocks = {int(k.split(".")[4]) for k in state if k.startswith("encoder.conv_blocks.0.res.")}
        return VQConfig(
            codebook_size=state["quantize.embedding.weight"].shape[0],
            codebook_embed_dim=state["quantize.embedding.weight"].shape[1], ch=ch,
            ch_mult=tuple(state[f"encoder.conv_blocks.{i}.res.0.conv1.weight"].shape[0] // ch
                          for i in levels),
            z_channels=state["encoder.conv_out.weight"].shape[0], num_res_blocks=len(blocks))
    except (KeyError, AttributeError, IndexError, ValueError) as err:
        raise ValueError(f"not a LlamaGen VQ state dict (no {err})") from None


def load_vq_checkpoint(path) -> VQModel:
    """A VQ from a LlamaGen tokenizer file (``vq_ds16_c2i.pt``: ``{"model": state_dict}``, or a
    bare state dict), its sizes read from the file, loaded strictly: a missing or unexpected key
    is one error naming it."""
    from pathlib import Path

    if not path or not Path(path).is_file():
        raise ValueError(f"VQ weights {path or '(none given)'} not found (LlamaGen's "
                         "vq_ds16_c2i.pt is a hub file: download it and pass its path with "
                         "--set task.vq_checkpoint=PATH)")
    from mutorbench.models.checkpoint_files import load_weights_file

    state = load_weights_file(path)
    if isinstance(state, dict) and "model" in state:
        state = state["model"]
    if not isinstance(state, dict):
        raise ValueError(f"{path}: not a VQ checkpoint (a {type(state).__name__})")
    state = {k.removeprefix("_orig_mod."): v for k, v in state.items()}  # torch.compile'd saves
    try:
        model = VQModel(config_from_state_dict(state))
        model.load_state_dict(state, strict=True)
    except (RuntimeError, ValueError) as err:
        lines = str(err).splitlines()
        raise ValueError(f"{path}: {lines[1].strip() if len(lines) > 1 else lines[0]}") from None
    return model.eval()
