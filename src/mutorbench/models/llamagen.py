"""LlamaGen's class-conditional GPT (Sun et al. 2024), GPT-B by default: the paper's image model.

Written to LlamaGen's ``autoregressive/models/gpt.py`` (read as a reference, not copied): a Llama
decoder (RMSNorm in fp32, SwiGLU, no biases) with a class-label embedding for the first token,
2-D RoPE over the h x w code grid (head pairs interleaved; the first half of each head's pairs
rotates by row, the second half by column), and an all-zero RoPE entry for the class token (its
queries and keys are zero, not un-rotated), dropout on embeddings, residuals and FFN outputs, an
untied output head initialised to zero. Parameter names and shapes are LlamaGen's, so its
checkpoints (``c2i_B_256.pt``) load strictly.

Interface, as the MuToR layout feeds a causal LM: ``input_ids`` [B, L] with the class token first
(``config.class_token_offset + c``; the null class of classifier-free guidance is
``offset + num_classes``) and codes after it; ``position_ids`` [B, L] index the RoPE table
(0 = the class token, k = image token k - 1, so a register with position "target index - 1"
takes the 2-D entry of the input whose next-token output predicts the same target);
``attention_mask`` None (causal) or an additive [B, 1, L, L] mask. Label dropout for guidance is
the data's job (a seeded null class), not the model's: LlamaGen draws it from the global RNG.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class LlamaGenConfig:
    dim: int = 768
    n_layer: int = 12
    n_head: int = 12
    n_kv_head: int | None = None
    multiple_of: int = 256
    rope_base: float = 10000.0
    norm_eps: float = 1e-5
    initializer_range: float = 0.02
    token_dropout_p: float = 0.1
    resid_dropout_p: float = 0.1
    ffn_dropout_p: float = 0.1
    num_classes: int = 1000
    class_dropout_prob: float = 0.1  # > 0: the table has the null class row (index num_classes)
    vocab_size: int = 16384
    grid: int = 16  # codes per side: 16 x 16 = 256 for 256 x 256 images with VQ-16
    model_type: str = field(default="llamagen", init=False)

    # what the suite asks of any model config
    @property
    def hidden_size(self) -> int:
        return self.dim

    @property
    def num_hidden_layers(self) -> int:
        return self.n_layer

    @property
    def num_attention_heads(self) -> int:
        return self.n_head

    @property
    def num_key_value_heads(self) -> int:
        return self.n_kv_head or self.n_head

    @property
    def head_dim(self) -> int:
        return self.dim // self.n_head

    @property
    def intermediate_size(self) -> int:
        hidden = int(2 * 4 * self.dim / 3)
        return hidden + (-hidden % self.multiple_of)

    @property
    def max_position_embeddings(self) -> int:
        return 1 + self.grid * self.grid

    @property
    def class_token_offset(self) -> int:
        return self.vocab_size

    tie_word_embeddings = False

    def get_text_config(self):
        return self


def rope_2d(grid: int, head_dim: int, base: float = 10000.0) -> torch.Tensor:
    """[1 + grid², head_dim // 2, 2] (cos, sin): row 0 (the class token) all zero, then the grid
    in raster order; pair j < head_dim // 4 rotates by the row, the rest by the column."""
    half = head_dim // 2
    freqs = 1.0 / (base ** (torch.arange(0, half, 2)[: half // 2].float() / half))
    angles = torch.outer(torch.arange(grid).float(), freqs)  # [grid, head_dim // 4]
    both = torch.cat([angles[:, None, :].expand(-1, grid, -1),
                      angles[None, :, :].expand(grid, -1, -1)], dim=-1)  # [row, col, half]
    table = torch.stack([torch.cos(both), torch.sin(both)], dim=-1).flatten(0, 1)
    return torch.cat([torch.zeros(1, half, 2), table])


def apply_rope(x: torch.Tensor, rope: torch.Tensor) -> torch.Tensor:
    """x [B, L, H, D], rope [B, L, D // 2, 2]: rotate interleaved pairs (x0, x1) in fp32."""
    pairs = x.float().reshape(*x.shape[:-1], -1, 2)
    cos, sin = rope[:, :, None, :, 0], rope[:, :, None, :, 1]
    out = torch.stack([pairs[..., 0] * cos - pairs[..., 1] * sin,
                       pairs[..., 1] * cos + pairs[..., 0] * sin], dim=-1)
    return out.flatten(3).type_as(x)


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        xf = x.float()
        normed = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)
        return normed.type_as(x) * self.weight


class Attention(nn.Module):
    def __init__(self, c: LlamaGenConfig):
        super().__init__()
        self.n_head, self.n_kv, self.head_dim = c.n_head, c.num_key_value_heads, c.head_dim
        self.wqkv = nn.Linear(c.dim, (c.n_head + 2 * self.n_kv) * self.head_dim, bias=False)
        self.wo = nn.Linear(c.dim, c.dim, bias=False)
        self.resid_dropout = nn.Dropout(c.resid_dropout_p)

    def forward(self, x, rope, mask, past=None):
        """``past``: this layer's cached (k, v) of earlier slots (decoding); returns the output
        and the (k, v) to cache."""
        B, L, _ = x.shape
        q, k, v = self.wqkv(x).split([self.n_head * self.head_dim, self.n_kv * self.head_dim,
                                      self.n_kv * self.head_dim], dim=-1)
        q = apply_rope(q.view(B, L, self.n_head, self.head_dim), rope).transpose(1, 2)
        k = apply_rope(k.view(B, L, self.n_kv, self.head_dim), rope).transpose(1, 2)
        v = v.view(B, L, self.n_kv, self.head_dim).transpose(1, 2)
        if past is not None:
            k, v = torch.cat([past[0], k], dim=2), torch.cat([past[1], v], dim=2)
        cached = (k, v)
        k = k.repeat_interleave(self.n_head // self.n_kv, dim=1)
        v = v.repeat_interleave(self.n_head // self.n_kv, dim=1)
        # no mask: causal over the new slots, all cached slots visible (they come first)
        if mask is None and past is not None and L > 1:
            mask = torch.ones(L, k.shape[2], dtype=torch.bool, device=x.device).tril(
                k.shape[2] - L)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask,
                                             is_causal=mask is None and past is None)
        return self.resid_dropout(self.wo(out.transpose(1, 2).reshape(B, L, -1))), cached


class FeedForward(nn.Module):
    def __init__(self, c: LlamaGenConfig):
        super().__init__()
        self.w1 = nn.Linear(c.dim, c.intermediate_size, bias=False)
        self.w3 = nn.Linear(c.dim, c.intermediate_size, bias=False)
        self.w2 = nn.Linear(c.intermediate_size, c.dim, bias=False)
        self.ffn_dropout = nn.Dropout(c.ffn_dropout_p)

    def forward(self, x):
        return self.ffn_dropout(self.w2(F.silu(self.w1(x)) * self.w3(x)))


class TransformerBlock(nn.Module):
    def __init__(self, c: LlamaGenConfig):
        super().__init__()
        self.attention, self.feed_forward = Attention(c), FeedForward(c)
        self.attention_norm = RMSNorm(c.dim, c.norm_eps)
        self.ffn_norm = RMSNorm(c.dim, c.norm_eps)

    def forward(self, x, rope, mask, past=None):
        a, cached = self.attention(self.attention_norm(x), rope, mask, past)
        h = x + a
        return h + self.feed_forward(self.ffn_norm(h)), cached


class LabelEmbedder(nn.Module):
    def __init__(self, c: LlamaGenConfig):
        super().__init__()
        self.embedding_table = nn.Embedding(c.num_classes + (c.class_dropout_prob > 0), c.dim)


class LlamaGen(nn.Module):
    def __init__(self, config: LlamaGenConfig):
        super().__init__()
        self.config = c = config
        self.cls_embedding = LabelEmbedder(c)
        self.tok_embeddings = nn.Embedding(c.vocab_size, c.dim)
        self.tok_dropout = nn.Dropout(c.token_dropout_p)
        self.layers = nn.ModuleList(TransformerBlock(c) for _ in range(c.n_layer))
        self.norm = RMSNorm(c.dim, c.norm_eps)
        self.output = nn.Linear(c.dim, c.vocab_size, bias=False)
        # tokens a method adds get their own table (add_token_rows): LlamaGen's tables keep
        # their names and shapes (a checkpoint still loads), the head still predicts codes only
        self.added_embeddings: nn.Embedding | None = None
        # a buffer LlamaGen keeps as a plain attribute: not in the state dict
        self.register_buffer("rope", rope_2d(c.grid, c.head_dim, c.rope_base), persistent=False)
        self.init_weights()

    def init_weights(self, generator: torch.Generator | None = None) -> None:
        """LlamaGen's: every matrix and table ~ normal(0, 0.02), the output head zero."""
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                nn.init.normal_(module.weight, std=self.config.initializer_range,
                                generator=generator)
        nn.init.zeros_(self.output.weight)

    def embed(self, input_ids: torch.Tensor) -> torch.Tensor:
        """Codes via ``tok_embeddings``, ids from the class offset on via the class table, ids
        after the class table (tokens a method added: registers) via ``added_embeddings``."""
        offset = self.config.class_token_offset
        rows = self.cls_embedding.embedding_table.num_embeddings
        is_class = (input_ids >= offset) & (input_ids < offset + rows)
        is_added = input_ids >= offset + rows
        h = self.tok_embeddings(input_ids.masked_fill(is_class | is_added, 0))
        classes = self.cls_embedding.embedding_table((input_ids - offset).clamp(0, rows - 1))
        h = torch.where(is_class[..., None], classes, h)
        if self.added_embeddings is not None:
            added = self.added_embeddings((input_ids - offset - rows).clamp(min=0))
            h = torch.where(is_added[..., None], added, h)
        elif bool(is_added.any()):
            raise ValueError(f"token id {int(input_ids.max())} is past the class table and no "
                             "tokens were added")
        return h

    def add_token_rows(self, n: int, *, std: float, generator: torch.Generator) -> list[int]:
        """``n`` new input rows ~ normal(0, std) from ``generator``; returns their token ids
        (after the class table's, as a CodeVocabulary numbers added tokens)."""
        if self.added_embeddings is not None:
            raise ValueError("tokens were already added to this LlamaGen")
        ref = self.tok_embeddings.weight
        table = nn.Embedding(n, self.config.dim, device=ref.device, dtype=ref.dtype)
        with torch.no_grad():
            table.weight.copy_(torch.randn(n, self.config.dim, generator=generator) * std)
        self.added_embeddings = table
        first = self.config.class_token_offset + self.cls_embedding.embedding_table.num_embeddings
        return list(range(first, first + n))

    def forward(self, input_ids, position_ids=None, attention_mask=None, past=None, **_):
        """``past``: the ``.past`` of the previous call (decoding with a KV cache); the output's
        ``.past`` extends it by these slots."""
        B, L = input_ids.shape
        if position_ids is None:
            start = 0 if past is None else past[0][0].shape[2]
            position_ids = torch.arange(start, start + L, device=input_ids.device).expand(B, L)
        if int(position_ids.max()) >= self.rope.shape[0]:
            raise ValueError(f"position id {int(position_ids.max())} is past the "
                             f"{self.config.grid}x{self.config.grid} grid (+ class token)")
        h = self.tok_dropout(self.embed(input_ids))
        rope = self.rope[position_ids]
        mask = None if attention_mask is None else attention_mask.to(h.dtype)
        cache = []
        for k, layer in enumerate(self.layers):
            h, kv = layer(h, rope, mask, None if past is None else past[k])
            cache.append(kv)
        return SimpleNamespace(logits=self.output(self.norm(h)).float(), past=cache)


def llamagen_b(**overrides) -> LlamaGen:
    return LlamaGen(LlamaGenConfig(**overrides))


def load_llamagen_checkpoint(path, **overrides) -> LlamaGen:
    """Our LlamaGen-B from a LlamaGen checkpoint file (``{"model": state_dict}`` or a bare state
    dict), loaded strictly: a missing or unexpected key is an error naming it. A suite run's
    ``checkpoint.pt`` loads too: its register rows (``added_embeddings``, training only: no
    register is ever sampled) are left out."""
    from mutorbench.models.checkpoint_files import load_weights_file

    state = load_weights_file(path)
    state = state.get("model", state) if isinstance(state, dict) else state
    state = {k.removeprefix("_orig_mod."): v for k, v in state.items()}  # torch.compile'd saves
    state.pop("freqs_cis", None)
    state.pop("added_embeddings.weight", None)
    model = LlamaGen(LlamaGenConfig(**overrides))
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as err:
        raise ValueError(f"{path}: not a LlamaGen-B checkpoint of this shape "
                         f"({str(err).splitlines()[1].strip()})") from None
    return model
