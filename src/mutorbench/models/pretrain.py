"""The tiny pretrained base: next-token pretraining on generic generated text, cached by config hash.

``ensure_base(cfg)`` returns a directory holding a transformers model and its tokenizer (loadable
with ``from_pretrained``), building it on first use. The key hashes everything that shapes the
weights (architecture, tokenizer, pretraining recipe, corpus version), not the cache location; a
base is written to a temporary folder and renamed into place, so a killed build leaves nothing
that looks finished and concurrent builds of the same key cannot corrupt each other.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from pathlib import Path

import torch
from tqdm.auto import tqdm

from mutorbench.models.base_corpus import CORPUS_VERSION, corpus_lines
from mutorbench.models.tiny import build_model, tiny_config_for
from mutorbench.models.tokenizer import train_bpe_tokenizer

MANIFEST = "base.json"


def base_key(cfg) -> str:
    model = cfg.model.model_dump(mode="json", exclude={"attn_implementation", "pretrain",
                                                       "name_or_path", "revision", "source"})
    recipe = cfg.model.pretrain.model_dump(mode="json", exclude={"cache_dir"})
    blob = json.dumps({"model": model, "tokenizer": cfg.tokenizer.model_dump(mode="json"),
                       "pretrain": recipe, "corpus_version": CORPUS_VERSION}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def base_dir(cfg) -> Path:
    return Path(cfg.model.pretrain.cache_dir) / f"{cfg.model.arch}-{base_key(cfg)}"


def ensure_base(cfg, *, progress: bool = True) -> Path:
    final = base_dir(cfg)
    if (final / MANIFEST).exists():
        return final
    tmp = final.with_name(f"{final.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        _pretrain(cfg, tmp, progress=progress)
        try:
            os.replace(tmp, final)
        except OSError:  # another process finished the same base first: theirs is identical
            if not (final / MANIFEST).exists():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final


def _token_stream(lines: list[str], tokenizer) -> torch.Tensor:
    """Every line as one document followed by EOS, concatenated."""
    eos = tokenizer.eos_token_id
    ids = tokenizer(lines, add_special_tokens=False)["input_ids"]
    return torch.tensor([t for doc in ids for t in (*doc, eos)], dtype=torch.long)


def _pretrain(cfg, out: Path, *, progress: bool) -> None:
    threads = torch.get_num_threads()
    torch.set_num_threads(cfg.model.pretrain.threads)
    try:
        _pretrain_pinned(cfg, out, progress=progress)
    finally:
        torch.set_num_threads(threads)


def _pretrain_pinned(cfg, out: Path, *, progress: bool) -> None:
    p, m = cfg.model.pretrain, cfg.model
    start = time.perf_counter()
    lines = corpus_lines(p.seed, p.lines)
    tokenizer = train_bpe_tokenizer(lines, vocab_size=cfg.tokenizer.vocab_size,
                                    split_digits=cfg.tokenizer.split_digits)
    stream = _token_stream(lines, tokenizer)
    model = build_model(tiny_config_for(m, len(tokenizer), tokenizer),
                        seed=p.seed, attn_implementation=m.attn_implementation)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=p.lr, betas=(0.9, 0.95), weight_decay=0.0)
    warmup = max(1, p.steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warmup) * max(0.0, 1 - s / p.steps))
    gen = torch.Generator().manual_seed(p.seed)
    bos = torch.full((p.batch_size, 1), tokenizer.bos_token_id, dtype=torch.long)
    bar = tqdm(range(p.steps), desc=f"pretrain tiny {m.arch} base", unit="step",
               disable=not progress, dynamic_ncols=True, mininterval=1.0)
    tokens, loss_value, loop_start = 0, float("nan"), time.perf_counter()
    for step in bar:
        starts = torch.randint(0, len(stream) - p.seq_len, (p.batch_size,), generator=gen)
        rows = torch.stack([stream[s:s + p.seq_len - 1] for s in starts.tolist()])
        batch = torch.cat([bos, rows], dim=1)
        loss = model(input_ids=batch, labels=batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        tokens += batch.numel()
        loss_value = loss.item()
        bar.set_postfix(loss=f"{loss_value:.3f}",
                        tok_s=f"{tokens / (time.perf_counter() - loop_start):.0f}", refresh=False)
    bar.close()
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    seconds = time.perf_counter() - start
    manifest = {"key": base_key(cfg), "arch": m.arch, "corpus_version": CORPUS_VERSION,
                "recipe": p.model_dump(mode="json", exclude={"cache_dir"}),
                "tokenizer": cfg.tokenizer.model_dump(mode="json"),
                "tokens_seen": tokens, "corpus_tokens": len(stream), "final_loss": loss_value,
                "seconds": round(seconds, 1)}
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"pretrained tiny {m.arch} base: {p.steps} steps, {tokens} tokens, final loss "
          f"{loss_value:.3f}, {seconds:.0f}s -> {out.name}")
