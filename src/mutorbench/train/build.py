"""Components of a run, built from its config: task, tokenizer, model, method, optimizer."""

from __future__ import annotations

from pathlib import Path

import torch

from mutorbench.models.tiny import build_model, tiny_config_for
from mutorbench.models.tokenizer import numeral_tokenizer, train_bpe_tokenizer
from mutorbench.registry import METHODS

HUB_FLAG_HINT = ("set model.name_or_path to a local directory holding the model and tokenizer "
                 "(the hub is not reachable or HF_HUB_OFFLINE=1 is set)")


def _weights_source(cfg) -> tuple[str | None, str | None]:
    """Where pretrained weights come from: a hub id/local path, or the cached tiny base."""
    if cfg.model.source == "tiny":
        from mutorbench.models.pretrain import ensure_base

        return str(ensure_base(cfg)), None
    return cfg.model.name_or_path, cfg.model.revision


def build_tokenizer(cfg, task):
    codes = task.code_vocabulary()
    if codes is not None:  # an image task: its ids are codes and class tokens, not text
        return codes
    if cfg.model.source == "tiny" and cfg.model.pretrain is None:
        if cfg.tokenizer.kind == "numeral":
            vocabulary = task.vocabulary()
            if vocabulary is None:
                raise ValueError(f"tokenizer.kind=numeral needs a task with a fixed vocabulary "
                                 f"(star_graph), not {task.name!r}")
            return numeral_tokenizer(vocabulary)
        return train_bpe_tokenizer(task.tokenizer_corpus(), vocab_size=cfg.tokenizer.vocab_size,
                                   split_digits=cfg.tokenizer.split_digits)
    from transformers import AutoTokenizer

    name, revision = _weights_source(cfg)
    try:
        tok = AutoTokenizer.from_pretrained(name, revision=revision)
    except OSError as err:
        raise ValueError(f"cannot load tokenizer {name!r}: {HUB_FLAG_HINT} "
                         f"({str(err).splitlines()[0]})") from None
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token  # padding comes from lengths, never from ids
    return tok


def build_llamagen(model_cfg, task, *, seed: int):
    """LlamaGen for the task's codebook, classes and grid: seeded init, or a checkpoint."""
    from mutorbench.models.llamagen import LlamaGen, LlamaGenConfig, load_llamagen_checkpoint

    m = model_cfg
    sizes = dict(dim=m.dim, n_layer=m.n_layer, n_head=m.n_head, vocab_size=task.codebook_size,
                 num_classes=task.num_classes, grid=task.grid, class_dropout_prob=0.1,
                 token_dropout_p=m.token_dropout_p, resid_dropout_p=m.resid_dropout_p,
                 ffn_dropout_p=m.ffn_dropout_p)
    if m.checkpoint is not None:
        if not Path(m.checkpoint).is_file():
            raise ValueError(f"model.checkpoint {m.checkpoint} is not a file (LlamaGen's "
                             "checkpoints are hub files: download one and give its path)")
        return load_llamagen_checkpoint(m.checkpoint, **sizes)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = LlamaGen(LlamaGenConfig(**sizes))
    return model


def build_base_model(cfg, tokenizer, task=None):
    """The base model before method additions: seeded random init (tiny, LlamaGen) or
    pretrained weights."""
    if cfg.model.source == "llamagen":
        if task is None or task.code_vocabulary() is None:
            raise ValueError("model.source llamagen generates images: it needs an image task "
                             "(task.name digits or imagenet_codes)")
        return build_llamagen(cfg.model, task, seed=cfg.seed)
    if cfg.model.source == "tiny" and cfg.model.pretrain is None:
        m = cfg.model
        mc = tiny_config_for(cfg.model, len(tokenizer), tokenizer)
        return build_model(mc, seed=cfg.seed, attn_implementation=m.attn_implementation)
    from transformers import AutoConfig, AutoModelForCausalLM

    from mutorbench.models.support import check_supported

    name, revision = _weights_source(cfg)
    try:
        check_supported(AutoConfig.from_pretrained(name, revision=revision))
        dtype = torch.bfloat16 if cfg.precision == "bf16" else torch.float32
        return AutoModelForCausalLM.from_pretrained(
            name, revision=revision, dtype=dtype, attn_implementation=cfg.model.attn_implementation)
    except OSError as err:
        raise ValueError(f"cannot load model {name!r}: {HUB_FLAG_HINT} "
                         f"({str(err).splitlines()[0]})") from None


def build_method(method_cfg, *, seed: int):
    """The registered method of ``method_cfg.id``, built from its own config section."""
    return METHODS.get(method_cfg.id).from_config(method_cfg, seed=seed)


def lr_lambda(schedule: str, warmup: int, total: int):
    """Linear warmup, then linear decay to 0 (HF's linear schedule) or constant."""
    def f(step: int) -> float:
        if warmup and step < warmup:
            return step / warmup
        if schedule == "constant":
            return 1.0
        return max(0.0, (total - step) / max(1, total - warmup))
    return f


def build_optimizer(model, optim_cfg, plan):
    trainable = [p for p in model.parameters() if p.requires_grad]  # LoRA freezes the base
    groups = [{"params": trainable, "weight_decay": optim_cfg.weight_decay}]
    if optim_cfg.decay == "matrices":
        groups = [{"params": [p for p in trainable if p.dim() >= 2],
                   "weight_decay": optim_cfg.weight_decay},
                  {"params": [p for p in trainable if p.dim() < 2], "weight_decay": 0.0}]
        groups = [g for g in groups if g["params"]]
    opt = torch.optim.AdamW(groups, lr=optim_cfg.lr, betas=tuple(optim_cfg.betas))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lr_lambda(optim_cfg.schedule, plan.warmup_steps, plan.total_steps))
    return opt, sched
