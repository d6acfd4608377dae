"""Analytic forward FLOPs of a decoder-only transformer, dense attention (masks ignored).

Counts matrix multiplies only (2 FLOPs per multiply-add): attention projections, the L x L score
and value products, the MLP (gated: 3 matrices; GPT-2: 2) and the LM head on every position.
Norms, softmax and embedding lookups are negligible. A training step is ~3x the forward; ratios
between methods are unchanged by that factor.
"""

from __future__ import annotations


def _dims(config) -> dict:
    cfg = config.get_text_config() if hasattr(config, "get_text_config") else config
    hidden = cfg.hidden_size
    heads = cfg.num_attention_heads
    head_dim = getattr(cfg, "head_dim", None) or hidden // heads
    kv_heads = getattr(cfg, "num_key_value_heads", None) or heads
    inter = getattr(cfg, "intermediate_size", None) or getattr(cfg, "n_inner", None) or 4 * hidden
    gated = cfg.model_type != "gpt2"
    return dict(hidden=hidden, heads=heads, head_dim=head_dim, kv_heads=kv_heads, inter=inter,
                layers=cfg.num_hidden_layers, vocab=cfg.vocab_size, mlp_mats=3 if gated else 2)


def forward_flops(config, seq_len: int) -> float:
    """FLOPs of one forward pass over one sequence of ``seq_len`` tokens."""
    d = _dims(config)
    H, L = d["hidden"], seq_len
    q_dim, kv_dim = d["heads"] * d["head_dim"], d["kv_heads"] * d["head_dim"]
    proj = 2 * L * H * (2 * q_dim + 2 * kv_dim)  # q, o and k, v
    scores = 2 * 2 * L * L * q_dim  # QK^T and AV
    mlp = 2 * d["mlp_mats"] * L * H * d["inter"]
    head = 2 * L * H * d["vocab"]
    return float(d["layers"] * (proj + scores + mlp) + head)


def batch_flops(config, batch_size: int, padded_len: int) -> float:
    """FLOPs of a padded [batch_size, padded_len] forward: what the hardware computes."""
    return batch_size * forward_flops(config, padded_len)
