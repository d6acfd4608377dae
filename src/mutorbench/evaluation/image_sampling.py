"""Class-conditional image sampling with classifier-free guidance, as LlamaGen samples.

The batch is doubled with the null class; at the prefill and at every step the logits are
``l_u + s (l_c - l_u)`` (``s = cfg_scale``; ``s = 1`` samples the conditional model alone), then
divided by the temperature, optionally cut to top-k / top-p, and sampled. Decoding uses the
model's KV cache. Each sample draws from its own generator, seeded by (seed, sample index), so a
sample does not depend on the batch it is drawn in. The model predicts codes only: a register (or
a class token) can never be sampled.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

_SAMPLE_STREAM = 0x696D_6167


def balanced_labels(n: int, num_classes: int) -> list[int]:
    """``n`` labels cycling through the classes (equal counts when n is a multiple)."""
    return [i % num_classes for i in range(n)]


def random_labels(n: int, num_classes: int, seed: int) -> list[int]:
    """``n`` labels uniform over the classes, as LlamaGen's sampler draws them (seeded here)."""
    return np.random.default_rng([_SAMPLE_STREAM, seed, 1]).integers(num_classes, size=n).tolist()


def _generators(seed: int, indices: Sequence[int]) -> list[torch.Generator]:
    out = []
    for i in indices:
        state = np.random.SeedSequence([_SAMPLE_STREAM, seed, int(i)]).generate_state(1)[0]
        out.append(torch.Generator().manual_seed(int(state)))
    return out


def filter_logits(logits: torch.Tensor, top_k: int = 0, top_p: float = 1.0) -> torch.Tensor:
    """Keep the top-k and/or the smallest set of tokens with probability >= top_p."""
    if top_k > 0:
        kth = torch.topk(logits, min(top_k, logits.shape[-1])).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p < 1.0:
        ordered, order = torch.sort(logits, descending=True)
        beyond = ordered.softmax(-1).cumsum(-1) > top_p
        beyond[..., 1:] = beyond[..., :-1].clone()
        beyond[..., 0] = False
        logits = logits.masked_fill(beyond.scatter(-1, order, beyond), float("-inf"))
    return logits


def _draw(logits: torch.Tensor, generators, *, temperature: float, top_k: int,
          top_p: float) -> torch.Tensor:
    probs = filter_logits(logits / max(temperature, 1e-5), top_k, top_p).softmax(-1).cpu()
    uniform = torch.stack([torch.rand((), generator=g) for g in generators])
    cdf = probs.cumsum(-1)
    picked = torch.searchsorted(cdf, (uniform * cdf[:, -1])[:, None]).squeeze(1)
    return picked.clamp(max=probs.shape[-1] - 1).to(logits.device)


@torch.no_grad()
def sample_codes(model, labels: Sequence[int], *, cfg_scale: float = 2.0,
                 temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0, seed: int = 0,
                 batch_size: int = 64, first_index: int = 0) -> torch.Tensor:
    """[len(labels), grid * grid] codes; sample k of the run is drawn from (seed, first_index+k)."""
    if cfg_scale < 1.0:
        raise ValueError(f"cfg_scale must be >= 1 (1: no guidance), got {cfg_scale}")
    config, device = model.config, next(model.parameters()).device
    steps, out = config.grid * config.grid, []
    for start in range(0, len(labels), batch_size):
        part = list(labels[start:start + batch_size])
        gens = _generators(seed, range(first_index + start, first_index + start + len(part)))
        classes = torch.tensor(part, device=device) + config.class_token_offset
        if cfg_scale > 1.0:  # the null class beside every sample
            classes = torch.cat([classes, torch.full_like(classes, config.class_token_offset
                                                          + config.num_classes)])
        tokens, past, codes = classes[:, None], None, []
        for _ in range(steps):
            result = model(tokens, past=past)
            logits, past = result.logits[:, -1], result.past
            if cfg_scale > 1.0:
                cond, uncond = logits.chunk(2)
                logits = uncond + cfg_scale * (cond - uncond)
            nxt = _draw(logits, gens, temperature=temperature, top_k=top_k, top_p=top_p)
            codes.append(nxt)
            tokens = (torch.cat([nxt, nxt]) if cfg_scale > 1.0 else nxt)[:, None]
        out.append(torch.stack(codes, dim=1))
    return torch.cat(out)
