"""MuToR-2D (paper §3.4): registers predicting a 2-D neighbour of the image token before them.

Per sequence, (d_h, d_w) ~ U{1..d_max_2d}² excluding (1, 1) (the token the register follows),
rasterised as d = (d_h - 1)·w + d_w - 1 over a grid ``grid_width`` codes wide; the register
after x_t predicts x_{t+d}, so each register has one of d_max_2d² - 1 targets. Everything else
is MuToR-1D on the image: the class token is the prompt, one register before every image token
(``[c, r, z_0, r, z_1, ...]``: the paper's 256 registers; the placement is our choice, the
paper leaves it open), its position id that of the token preceding its target, which under
LlamaGen's 2-D RoPE is that token's (row, column). Choices the paper does not state, recorded in
the hyper-parameters: a target past the right edge of its row wraps to the next row, as the
raster formula says; a target below the grid has no register (dropped).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Literal

import numpy as np
from pydantic import Field, model_validator

from mutorbench.configbase import PositiveInt, Strict
from mutorbench.methods.mutor import MuToR
from mutorbench.registry import METHODS

_OFFSET_2D_STREAM = 0x6D32_6464


def offsets_2d(d_max_2d: int, width: int) -> list[tuple[int, int, int]]:
    """Every (d_h, d_w, d) a register can draw, in raster order of the neighbourhood."""
    return [(h, w, (h - 1) * width + w - 1) for h in range(1, d_max_2d + 1)
            for w in range(1, d_max_2d + 1) if (h, w) != (1, 1)]


def sample_offsets_2d(seed: int, epoch: int, indices: Sequence[int], d_max_2d: int,
                      width: int) -> list[int]:
    """A rasterised d per example, uniform over the neighbourhood; a pure function of
    (seed, epoch, example index), like the 1-D offsets."""
    choices = offsets_2d(d_max_2d, width)
    return [choices[int(np.random.default_rng([_OFFSET_2D_STREAM, seed, epoch, int(i)])
                        .integers(len(choices)))][2] for i in indices]


class Mutor2DConfig(Strict):
    id: Literal["mutor_2d"] = "mutor_2d"
    d_max_2d: Annotated[int, Field(ge=2)] = 4
    grid_width: PositiveInt = 16  # codes per grid row (LlamaGen at 256 x 256: 16)
    a: Annotated[float, Field(ge=0.0, le=1.0)] = 0.5
    reduction: Literal["per_example", "token"] = "per_example"
    prefix_attention: Literal["bidirectional", "causal"] = "bidirectional"
    init_std: Annotated[float, Field(gt=0.0)] | None = None
    register_count: PositiveInt | None = None  # sparse: e.g. 80 of 256 (Tables 8, 9, 15)

    @model_validator(mode="after")
    def _neighbourhood_fits_a_row(self):
        if self.d_max_2d > self.grid_width:
            raise ValueError(f"d_max_2d {self.d_max_2d} is wider than a grid row "
                             f"({self.grid_width} codes)")
        return self


@METHODS.register
@dataclass
class MuToR2D(MuToR):
    """MuToR with 2-D offsets on a raster grid; one shared register token."""

    Config = Mutor2DConfig
    display_name = "MuToR-2D"
    supports_lora = False  # the paper's LoRA arms are text (Gemma 2B); images train in full
    d_max_2d: int = 4
    grid_width: int = 16
    a: float = 0.5
    id: str = "mutor_2d"
    probe_registers = None  # the 1-D register probe reads a 1-D layout, not this one

    def __post_init__(self) -> None:
        choices = offsets_2d(self.d_max_2d, self.grid_width)
        self.d_min, self.d_max = min(c[2] for c in choices), max(c[2] for c in choices)
        super().__post_init__()

    def hyperparameters(self) -> dict:
        out = super().hyperparameters()
        for key in ("d_min", "d_max", "registers"):
            out.pop(key)
        return out | {
            "d_max_2d": self.d_max_2d, "grid_width": self.grid_width,
            "targets": len(offsets_2d(self.d_max_2d, self.grid_width)),
            "placement": "one register before every image token; the class token is the prefix",
            "row_wrap": "raster formula d = (d_h - 1) * w + d_w - 1: targets past the right edge "
                        "wrap to the next row (kept)",
            "outside_grid": "a register whose target is past the last token is dropped"}

    def offsets(self, epoch: int, indices: Sequence[int]) -> list[int]:
        return sample_offsets_2d(self.seed, epoch, indices, self.d_max_2d, self.grid_width)
