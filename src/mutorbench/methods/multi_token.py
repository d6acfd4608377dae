"""Multi-Token prediction with extra heads (Gloeckle et al. 2024), adapted to fine-tuning as the paper.

``d_max - 1`` heads, each one decoder layer of the base architecture built from the model's own
config and initialised from the method's own generator. All heads read the same trunk state in
parallel: by default the hidden state entering the model's last decoder layer (Gloeckle's layout,
where that last layer acts as the next-token head); ``trunk="final"`` reads the last layer's output
before the final norm instead. Head k (1-based) predicts the token k+1 ahead through the model's
shared final norm and unembedding. Loss: ``(1 - a) * L_ntp + a * mean_k L_k``.

Batches are the next-token layout (bidirectional prompt, causal answer), so a head at position t sees
nothing beyond t in the answer; head k is scored at t when the token t+k+1 is an answer token. The
heads live on the model as ``model.mtp_heads`` (trained, checkpointed, wrapped by DDP/FSDP with it)
and are removed by :func:`detach_heads` before export: inference is the unchanged base model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated, Literal

import torch
from pydantic import Field

from mutorbench.configbase import Strict
from mutorbench.examples import Example
from mutorbench.masks import check_prefix_mode
from mutorbench.methods.base import MethodBase
from mutorbench.methods.layout import IGNORE_INDEX, ModelInputs
from mutorbench.methods.losses import LossTerm, check_reduction, count, term, token_cross_entropy
from mutorbench.methods.ntp import build_ntp_inputs
from mutorbench.models.adapters import adapter_for
from mutorbench.registry import METHODS

HEADS_ATTR = "mtp_heads"
TRUNKS = ("last_layer_input", "final")


def decoder_stack(model):
    """(model adapter, decoder layers) of a rotary decoder: heads reuse its rotary embedding."""
    adapter = adapter_for(model)
    if adapter.rotary is None:
        raise ValueError(f"{type(model).__name__}: Multi-Token heads need a decoder with "
                         "`model.model.layers` and rotary embeddings (Llama, Gemma, Qwen2 "
                         "families; see models/adapters.py)")
    return adapter, adapter.layers_of(model)


def shift_labels(labels: torch.Tensor, k: int,
                 segments: torch.Tensor | None = None) -> torch.Tensor:
    """Targets of the head predicting ``k + 1`` ahead: ``labels[:, t + k]`` (labels predict t+1);
    in packed rows (``segments``) only within the slot's own example."""
    out = torch.full_like(labels, IGNORE_INDEX)
    if k < labels.shape[1]:
        ahead = labels[:, k:]
        if segments is not None:
            ahead = ahead.masked_fill(segments[:, k:] != segments[:, :labels.shape[1] - k],
                                      IGNORE_INDEX)
        out[:, : labels.shape[1] - k] = ahead
    return out


def _init_like_base(module: torch.nn.Module, std: float, generator: torch.Generator) -> None:
    """Matrices ~ normal(0, std) from ``generator``; norms and biases keep their constructor values."""
    with torch.no_grad():
        for name, p in module.named_parameters():
            if p.dim() >= 2:
                p.copy_(torch.randn(p.shape, generator=generator) * std)
            elif name.endswith("bias"):
                p.zero_()


def new_head_layer(model) -> torch.nn.Module:
    """A fresh decoder layer like the model's last one (constructor init, global RNG)."""
    _, layers = decoder_stack(model)
    # layer_idx picks per-layer settings (e.g. Qwen2's layer_types): a head is built like the last
    # layer; heads never use a KV cache, so sharing the index is harmless
    return type(layers[-1])(model.config.get_text_config(), layer_idx=len(layers) - 1)


def build_heads(model, n: int, *, seed: int, std: float | None = None) -> torch.nn.ModuleList:
    config = model.config.get_text_config()
    std = config.initializer_range if std is None else std
    gen = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):  # constructors draw from the global RNG: leave it as is
        heads = torch.nn.ModuleList(new_head_layer(model) for _ in range(n))
    _init_like_base(heads, std, gen)
    ref = next(model.parameters())
    return heads.to(device=ref.device, dtype=ref.dtype)


def detach_heads(model) -> torch.nn.ModuleList | None:
    """Remove the heads from ``model`` (before export); returns them."""
    heads = getattr(model, HEADS_ATTR, None)
    if heads is not None:
        delattr(model, HEADS_ATTR)
    return heads


def _unwrap(model):
    return getattr(model, "module", model)  # DDP


def _trunk_forward(model, kwargs: dict, trunk: str):
    """The model's forward (next-token logits) and the trunk state the extra modules read.

    ``last_layer_input``: the hidden state entering the last decoder layer; ``final``: the last
    layer's output before the final norm (hooked: HF's hidden_states end after the norm).
    """
    _, layers = decoder_stack(_unwrap(model))
    if trunk == "last_layer_input":
        out = model(**kwargs, use_cache=False, output_hidden_states=True)
        return out, out.hidden_states[-2]
    captured = {}
    hook = layers[-1].register_forward_hook(
        lambda mod, args, out: captured.setdefault("h", out[0] if isinstance(out, tuple) else out))
    try:
        out = model(**kwargs, use_cache=False)
    finally:
        hook.remove()
    return out, captured["h"]


class _HeadsConfig(Strict):
    """Extra prediction modules; the paper's tuned setting for both is d_max = 2, a = 0.1."""
    d_max: Annotated[int, Field(ge=2)] = 2
    a: Annotated[float, Field(ge=0.0, le=1.0)] = 0.1
    reduction: Literal["per_example", "token"] = "per_example"
    prefix_attention: Literal["bidirectional", "causal"] = "bidirectional"
    init_std: Annotated[float, Field(gt=0.0)] | None = None


class MultiTokenConfig(_HeadsConfig):
    """Gloeckle-style parallel heads."""
    id: Literal["multi_token"] = "multi_token"
    trunk: Literal["last_layer_input", "final"] = "last_layer_input"


class DSMultiTokenConfig(_HeadsConfig):
    """DeepSeek-V3-style sequential MTP modules."""
    id: Literal["ds_multi_token"] = "ds_multi_token"


@METHODS.register
@dataclass
class MultiToken(MethodBase):
    Config = MultiTokenConfig
    display_name = "Multi-Token"
    supports_packing = True  # losses and shifted targets read batch.segment_ids
    d_max: int = 2  # the paper's tuned Multi-Token setting everywhere: d_max = 2, a = 0.1
    a: float = 0.1
    reduction: str = "per_example"
    prefix_attention: str = "bidirectional"
    trunk: str = "last_layer_input"
    seed: int = 0
    init_std: float | None = None
    id: str = "multi_token"
    added_params: int | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.d_max < 2:
            raise ValueError(f"Multi-Token needs d_max >= 2 (d_max - 1 extra heads), got {self.d_max}")
        if not (0.0 <= self.a <= 1.0):
            raise ValueError(f"loss coefficient a must be in [0, 1], got {self.a}")
        if self.trunk not in TRUNKS:
            raise ValueError(f"unknown trunk {self.trunk!r}; expected one of {TRUNKS}")
        check_reduction(self.reduction)
        check_prefix_mode(self.prefix_attention)

    @property
    def n_heads(self) -> int:
        return self.d_max - 1

    def hyperparameters(self) -> dict:
        return {"d_max": self.d_max, "a": self.a, "reduction": self.reduction,
                "prefix_attention": self.prefix_attention, "trunk": self.trunk, "seed": self.seed,
                "added_params": self.added_params}

    def prepare(self, model, tokenizer) -> None:
        if hasattr(model, HEADS_ATTR):
            raise RuntimeError("the model already has Multi-Token heads")
        heads = build_heads(model, self.n_heads, seed=self.seed, std=self.init_std)
        setattr(model, HEADS_ATTR, heads)
        self.added_params = sum(p.numel() for p in heads.parameters())

    def added_param_count(self, model) -> int:
        """``d_max - 1`` decoder layers of the base architecture."""
        return self.n_heads * _numel(new_head_layer(model))

    def export(self, model, tokenizer, path) -> None:
        """The base model alone: heads are detached for the save and put back after it."""
        heads = detach_heads(model)
        try:
            super().export(model, tokenizer, path)
        finally:
            if heads is not None:
                setattr(model, HEADS_ATTR, heads)

    def build_batch(self, examples: Sequence[Example], *, pad_id: int, epoch: int = 0,
                    dtype=torch.float32) -> ModelInputs:
        return build_ntp_inputs([e.prompt_ids for e in examples], [e.answer_ids for e in examples],
                                pad_id=pad_id, prefix_attention=self.prefix_attention, dtype=dtype)

    def loss_weights(self) -> dict[str, float]:
        weights = {"regular": 1.0 - self.a}
        weights.update({f"head{k}": self.a / self.n_heads for k in range(1, self.n_heads + 1)})
        return weights

    def _selects(self, batch: ModelInputs) -> dict[str, torch.Tensor]:
        out = {"regular": batch.labels != IGNORE_INDEX}
        for k in range(1, self.n_heads + 1):
            out[f"head{k}"] = shift_labels(batch.labels, k, batch.segment_ids) != IGNORE_INDEX
        return out

    def loss_counts(self, batch: ModelInputs) -> dict[str, int]:
        return {k: count(s, self.reduction, batch.segment_ids)
                for k, s in self._selects(batch).items()}

    def head_logits(self, model, batch: ModelInputs) -> list[torch.Tensor]:
        """[next-token logits, head 1 logits, ...]: each [B, L, V]."""
        base = _unwrap(model)
        adapter, _ = decoder_stack(base)
        heads = getattr(base, HEADS_ATTR)
        kwargs = batch.kwargs_for(base)
        out, trunk = _trunk_forward(model, kwargs, self.trunk)
        rotary = adapter.rotary_of(base)(trunk, kwargs["position_ids"])
        logits = [out.logits]
        for head in heads:
            h = head(trunk, attention_mask=kwargs["attention_mask"],
                     position_ids=kwargs["position_ids"], position_embeddings=rotary)
            h = h[0] if isinstance(h, tuple) else h
            logits.append(adapter.head_of(base)(adapter.norm_of(base)(h)))
        return logits

    def loss_terms(self, model, batch: ModelInputs) -> dict[str, LossTerm]:
        selects = self._selects(batch)
        logits = self.head_logits(model, batch)
        terms = {}
        for k, (name, select) in enumerate(selects.items()):
            ce = token_cross_entropy(logits[k], shift_labels(batch.labels, k, batch.segment_ids))
            terms[name] = term(ce, select, self.reduction, batch.segment_ids)
        return terms


class DSModule(torch.nn.Module):
    """One DeepSeek-V3 MTP depth: ``layer(W [norm(h); norm(emb)])``, then its own final norm."""

    def __init__(self, layer: torch.nn.Module, norm_cls, hidden: int, eps: float):
        super().__init__()
        self.norm_hidden, self.norm_embed = norm_cls(hidden, eps=eps), norm_cls(hidden, eps=eps)
        self.proj = torch.nn.Linear(2 * hidden, hidden, bias=False)
        self.layer = layer
        self.norm_out = norm_cls(hidden, eps=eps)


def _numel(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@METHODS.register
@dataclass
class DSMultiToken(MultiToken):
    """DeepSeek-V3 sequential MTP: module k feeds module k+1 and sees the embedding of token t+k.

    Depth 0 is the main model's last hidden state (the last layer's output, before the final norm);
    module k predicts the token k+1 ahead through the shared unembedding. Same loss weighting and
    scored positions as :class:`MultiToken`; modules attend causally only.
    """

    Config = DSMultiTokenConfig
    display_name = "DS-Multi-Token"
    id: str = "ds_multi_token"
    trunk: str = "final"

    def added_param_count(self, model) -> int:
        """``d_max - 1`` modules: a decoder layer, two norms and the 2h -> h projection."""
        adapter, _ = decoder_stack(model)
        text = model.config.get_text_config()
        return self.n_heads * _numel(DSModule(new_head_layer(model), type(adapter.norm_of(model)),
                                              text.hidden_size, 1e-6))

    def prepare(self, model, tokenizer) -> None:
        if hasattr(model, HEADS_ATTR):
            raise RuntimeError("the model already has Multi-Token modules")
        adapter, _ = decoder_stack(model)
        config = model.config.get_text_config()
        layers = build_heads(model, self.n_heads, seed=self.seed, std=self.init_std)
        eps = getattr(config, "rms_norm_eps", 1e-6)
        std = config.initializer_range if self.init_std is None else self.init_std
        gen = torch.Generator().manual_seed(self.seed + 1)  # the layers used `seed`
        with torch.random.fork_rng(devices=[]):
            modules = torch.nn.ModuleList(DSModule(layer, type(adapter.norm_of(model)),
                                                   config.hidden_size, eps) for layer in layers)
        with torch.no_grad():
            for m in modules:
                m.proj.weight.copy_(torch.randn(m.proj.weight.shape, generator=gen) * std)
        ref = next(model.parameters())
        setattr(model, HEADS_ATTR, modules.to(device=ref.device, dtype=ref.dtype))
        self.added_params = sum(p.numel() for p in modules.parameters())

    def head_logits(self, model, batch: ModelInputs) -> list[torch.Tensor]:
        base = _unwrap(model)
        adapter, _ = decoder_stack(base)
        modules = getattr(base, HEADS_ATTR)
        kwargs = batch.kwargs_for(base)
        out, h = _trunk_forward(model, kwargs, "final")
        # slot t of a module holds token t+k: a later prompt slot would show it a token past its
        # own lookahead, so the modules attend causally only
        mask = batch.kwargs_for(base, causal=True)["attention_mask"]
        rotary = adapter.rotary_of(base)(h, kwargs["position_ids"])
        embed = adapter.embeddings_of(base)
        logits = [out.logits]
        for k, m in enumerate(modules, start=1):
            # slot t: token t+k; the last k slots wrap around, but they are never scored and,
            # attention being causal, never seen by a scored slot
            e = embed(batch.input_ids.roll(-k, dims=1))
            h = m.proj(torch.cat([m.norm_hidden(h), m.norm_embed(e)], dim=-1))
            h = m.layer(h, attention_mask=mask, position_ids=kwargs["position_ids"],
                        position_embeddings=rotary)
            h = h[0] if isinstance(h, tuple) else h
            logits.append(adapter.head_of(base)(m.norm_out(h)))
        return logits
