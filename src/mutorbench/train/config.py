"""The run configuration: one typed tree, strict (unknown keys and wrong types are errors).

A YAML file plus ``--set key=value`` overrides resolve to a :class:`RunConfig`; the resolved tree is
stored in every result, and feeding it back to ``mutor-bench train`` reproduces the run.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import Discriminator, Field, Tag, ValidationError, field_validator, model_validator
from pydantic.fields import FieldInfo

import mutorbench.methods  # noqa: F401 (registers the built-in methods)
import mutorbench.tasks  # noqa: F401 (registers the built-in tasks)
from mutorbench.configbase import PositiveInt
from mutorbench.configbase import Strict as _Strict
from mutorbench.evaluation.evaluator import metric_keys_of_config
from mutorbench.evaluation.image_evaluator import ImageEvalConfig
from mutorbench.methods.ntp import NtpConfig
from mutorbench.models.adapters import tiny_families
from mutorbench.registry import METHODS, TASKS
from mutorbench.tasks.base import TaskConfig
from mutorbench.tasks.generated import GeneratedConfig
from mutorbench.yamlio import apply_override, load_yaml_file


class PretrainConfig(_Strict):
    """Tiny scale: first pretrain the base with next-token loss on generic generated text.

    The base is built once per (model, tokenizer, pretrain) config and cached under
    ``cache_dir``; every seed and method fine-tunes the same base, as with a released model.
    """
    steps: PositiveInt = 1500
    batch_size: PositiveInt = 32
    seq_len: PositiveInt = 128
    lr: Annotated[float, Field(gt=0.0)] = 3e-3
    lines: PositiveInt = 200_000  # corpus size (lines of generated text)
    seed: int = 0  # the base's own seed: fixed across fine-tuning seeds
    threads: PositiveInt = 2  # pinned: CPU kernels may round differently with other counts
    cache_dir: str = "results/bases"


class TinyModelConfig(_Strict):
    """A small model of a named family built here: from scratch, or fine-tuned from a tiny base
    pretrained (and cached) by the suite."""
    source: Literal["tiny"] = "tiny"
    arch: str = "gemma"  # a model family whose adapter builds tiny configs (models/adapters.py)
    hidden_size: PositiveInt = 96
    num_layers: PositiveInt = 2
    num_heads: PositiveInt = 4
    num_kv_heads: PositiveInt | None = None
    intermediate_size: PositiveInt | None = None
    attn_implementation: Literal["sdpa", "eager", "flex_attention"] = "sdpa"
    pretrain: PretrainConfig | None = None  # None trains from scratch

    @property
    def weights_location(self) -> None:
        """Built here: no file or hub id holds its weights."""
        return None

    @field_validator("arch")
    @classmethod
    def _a_tiny_family(cls, arch: str) -> str:
        if arch not in tiny_families():
            raise ValueError(f"no tiny config for family {arch!r}; one of "
                             f"{', '.join(tiny_families())}")
        return arch

    @model_validator(mode="after")
    def _heads_divide(self):
        """Checked here (one line) rather than by transformers' config validator (a traceback)."""
        if self.hidden_size % self.num_heads:
            raise ValueError(f"hidden_size {self.hidden_size} is not a multiple of "
                             f"num_heads {self.num_heads}")
        if self.num_kv_heads is not None and self.num_heads % self.num_kv_heads:
            raise ValueError(f"num_heads {self.num_heads} is not a multiple of "
                             f"num_kv_heads {self.num_kv_heads}")
        return self


class PretrainedModelConfig(_Strict):
    """A released model (HF id or local directory) with its own tokenizer."""
    source: Literal["pretrained"] = "pretrained"
    name_or_path: str
    revision: str | None = None
    attn_implementation: Literal["sdpa", "eager", "flex_attention"] = "sdpa"

    @property
    def weights_location(self) -> str:
        return self.name_or_path


class LlamaGenModelConfig(_Strict):
    """LlamaGen's class-conditional GPT (images, models/llamagen.py), GPT-B's sizes by default;
    the codebook, the classes and the grid come from the task. Trained from scratch (seeded), or
    from a LlamaGen checkpoint file (``checkpoint``: c2i_B_256.pt, loaded strictly)."""
    source: Literal["llamagen"] = "llamagen"
    dim: PositiveInt = 768
    n_layer: PositiveInt = 12
    n_head: PositiveInt = 12
    token_dropout_p: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.1
    resid_dropout_p: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.1
    ffn_dropout_p: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.1
    checkpoint: str | None = None

    @property
    def weights_location(self) -> str | None:
        return self.checkpoint

    @property
    def attn_implementation(self) -> None:
        """No choice to make: LlamaGen calls sdpa itself (models/llamagen.py)."""
        return None

    @model_validator(mode="after")
    def _heads_divide(self):
        if self.dim % self.n_head or (self.dim // self.n_head) % 4:
            raise ValueError(f"dim {self.dim} / n_head {self.n_head} must be a head size "
                             "divisible by 4 (2-D RoPE rotates pairs by row and by column)")
        return self


def _tag(key: str, default: str):
    """A union's discriminator that defaults when the key is absent (``model.source`` is tiny,
    ``task.name`` arith unless given)."""
    def tag_of(value):
        return value.get(key, default) if isinstance(value, dict) else getattr(value, key, None)
    return Discriminator(tag_of)


MODEL_SOURCES = {"tiny": TinyModelConfig, "pretrained": PretrainedModelConfig,
                 "llamagen": LlamaGenModelConfig}
ModelConfig = Annotated[Union[tuple(Annotated[c, Tag(s)]  # noqa: UP007
                                    for s, c in MODEL_SOURCES.items())],
                        _tag("source", "tiny")]


class TokenizerConfig(_Strict):
    """Tiny models only: a pretrained model brings its own tokenizer."""
    vocab_size: PositiveInt = 384  # byte-level BPE trained on the task's training text
    split_digits: bool = False  # one token per digit (as Gemma's tokenizer); for arithmetic tasks
    # numeral: one token per word of the task's fixed vocabulary (star_graph node ids), no BPE
    kind: Literal["bpe", "numeral"] = "bpe"


class LoraConfig(_Strict):
    """LoRA via peft (the paper: rank 32; alpha and dropout not given, so ours are recorded)."""
    r: PositiveInt = 32
    alpha: Annotated[float, Field(gt=0.0)] = 32.0
    dropout: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.0
    target_modules: str = "all-linear"  # peft's name for every linear layer except the output head


class OptimConfig(_Strict):
    lr: Annotated[float, Field(gt=0.0)] = 3e-3
    betas: tuple[float, float] = (0.9, 0.999)
    weight_decay: Annotated[float, Field(ge=0.0)] = 0.0
    # which parameters decay: all (torch's AdamW), or matrices only (>= 2 dims: LlamaGen's and
    # nanoGPT's rule; norm weights and biases undecayed)
    decay: Literal["all", "matrices"] = "all"
    schedule: Literal["linear", "constant"] = "linear"  # linear: warmup then linear decay to 0
    warmup_fraction: Annotated[float, Field(ge=0.0, le=1.0)] = 0.1
    grad_clip: Annotated[float, Field(gt=0.0)] | None = 1.0


class BatchConfig(_Strict):
    micro_batch_size: PositiveInt = 16  # per process
    grad_accumulation: PositiveInt = 1
    # several examples per row (methods/packing.py): same losses, fewer pad slots; rows at most
    # pack_width slots (None: the micro-batch's widest example). With flex attention a width of
    # the micro-batch's total slots (one row) was fastest on an H200: its BlockMask skips the
    # blocks between examples; with sdpa's dense mask a wide row costs L x L attention instead
    packing: bool = False
    pack_width: PositiveInt | None = None

    @model_validator(mode="after")
    def _width_with_packing(self):
        if self.pack_width is not None and not self.packing:
            raise ValueError("pack_width applies with packing: true only")
        return self


class BudgetConfig(_Strict):
    kind: Literal["epochs", "steps", "tokens"] = "epochs"
    amount: Annotated[float, Field(gt=0)] = 1  # epochs, optimizer steps, or regular tokens


class EvalConfig(_Strict):
    max_new_tokens: PositiveInt | None = None  # None: the task's own (the paper's 512 for GSM8K)
    batch_size: PositiveInt = 32
    # The paper: best checkpoint on test for GSM8K/MATH500; best validation ROUGE-L (summarization)
    # or validation accuracy (AQUA-RAT), reporting test. Both splits are evaluated at every epoch.
    select_split: str = "test"
    report_split: str = "test"
    # best: eval.metric on select_split; last; at_step: the evaluation at report_step (the image
    # tables' 100K / 200K / 360K columns read one run at those steps; selection.py)
    selection: Literal["best", "last", "at_step"] = "best"
    report_step: PositiveInt | None = None  # selection at_step only
    metric: str | None = None  # the value selection reads; None: the task's first (accuracy, rougeL)
    # also evaluate every N steps (learning curves); these evaluations are checkpoints too, so
    # selection "best" may pick one. None: at epoch ends (and the last step) only.
    every_steps: PositiveInt | None = None
    # also evaluate at these optimizer steps; an expensive evaluator (FID) runs only at these and
    # the last step (train/schedule.py)
    at_steps: tuple[PositiveInt, ...] | None = None
    limit: PositiveInt | None = None  # score only the first N examples of each split (a quick look)
    images: ImageEvalConfig | None = None  # image tasks (filled with the defaults for them)

    @model_validator(mode="after")
    def _step_with_its_rule(self):
        if (self.selection == "at_step") != (self.report_step is not None):
            raise ValueError("eval.report_step goes with eval.selection=at_step, and only with it")
        return self

    @property
    def splits(self) -> list[str]:
        """The evaluated splits: selection's, then the reported one (once if the same)."""
        return list(dict.fromkeys([self.select_split, self.report_split]))


class LoggingConfig(_Strict):
    """Where the per-step fields of log.jsonl and every evaluation also go (train/tracking.py)."""
    report_to: tuple[Literal["none", "tensorboard", "wandb"], ...] = ("none",)

    @field_validator("report_to", mode="before")
    @classmethod
    def _one_or_many(cls, value):
        if isinstance(value, str):  # `report_to: wandb` is a list of one
            return (value,)
        return tuple(value) if isinstance(value, list) else value

    @field_validator("report_to")
    @classmethod
    def _none_alone(cls, value):
        if "none" in value and len(value) > 1:
            raise ValueError("`none` cannot be combined with a tracker")
        if len(set(value)) != len(value):
            raise ValueError("a tracker is listed twice")
        return value

    @property
    def trackers(self) -> tuple[str, ...]:
        return tuple(name for name in self.report_to if name != "none")


class RunConfig(_Strict):
    table: str | None = None
    cell: dict[str, str] | None = None
    scale: str = "tiny"
    seed: int = 0
    model: ModelConfig = TinyModelConfig()
    tokenizer: TokenizerConfig | None = Field(None, validate_default=True)  # tiny models only
    task: TaskConfig = GeneratedConfig()  # the union of every registered task's Config (below)
    method: NtpConfig = NtpConfig()  # the union of every registered method's Config (below)
    optim: OptimConfig = OptimConfig()
    batch: BatchConfig = BatchConfig()
    budget: BudgetConfig = BudgetConfig()
    peft: Literal["none", "lora"] = "none"  # lora: only adapters and register rows train
    lora: LoraConfig | None = Field(None, validate_default=True)  # with peft: lora only
    precision: Literal["fp32", "bf16", "bf16-autocast"] = "fp32"
    parallel: Literal["ddp", "fsdp"] = "ddp"  # with several processes: replicate or shard
    checkpoint_every_steps: PositiveInt | None = None
    eval: EvalConfig = EvalConfig()
    threads: PositiveInt | None = None  # torch intra-op threads; recorded either way
    logging: LoggingConfig = LoggingConfig()
    export: bool = False  # save the final model as the plain base architecture in <run>/model
    output_dir: str = "results/runs"
    run_name: str | None = None  # default: <method>-seed<seed>

    # A section the cell uses and nobody wrote gets its defaults; the others stay out (null),
    # so the stored config holds only what the run reads.
    @field_validator("tokenizer", mode="before")
    @classmethod
    def _tokenizer_for_tiny_only(cls, value, info):
        model = info.data.get("model")
        if model is None:  # the model section failed: its error is the one reported
            return value
        if model.source == "pretrained" and value is not None:
            raise ValueError("a pretrained model brings its own tokenizer; this section is for "
                             "tiny models")
        if model.source == "llamagen" and value is not None:
            raise ValueError("an image model reads the task's codes; this section is for tiny "
                             "text models")
        return TokenizerConfig() if value is None and model.source == "tiny" else value

    @field_validator("lora", mode="before")
    @classmethod
    def _lora_with_peft_only(cls, value, info):
        if info.data.get("peft") == "lora":
            return LoraConfig() if value is None else value
        if value is not None:
            raise ValueError("this section applies with peft: lora only")
        return value

    @model_validator(mode="after")
    def _task_fits_the_run(self):
        """A task section may check the sections it depends on (``check_run``)."""
        self.task.check_run(self)
        return self


_union_versions = (-1, -1)


def _sync_unions() -> None:
    """RunConfig's ``method`` and ``task`` sections: unions of every registered method's config
    (tagged by ``id``) and task's config (tagged by ``name``), rebuilt in place (RunConfig stays
    one class) when a component was registered."""
    global _union_versions
    if _union_versions == (METHODS.version, TASKS.version):
        return
    methods = tuple(cls.Config for _, cls in METHODS.items())
    tasks = tuple(Annotated[cls.Config, Tag(name)] for name, cls in TASKS.items())
    fields = RunConfig.__pydantic_fields__
    fields["method"] = FieldInfo.from_annotated_attribute(
        Annotated[Union[methods], Field(discriminator="id")], NtpConfig())  # noqa: UP007
    fields["task"] = FieldInfo.from_annotated_attribute(
        Annotated[Union[tasks], _tag("name", "arith")], GeneratedConfig())  # noqa: UP007
    RunConfig.model_rebuild(force=True)
    _union_versions = (METHODS.version, TASKS.version)


_UNION_TAGS = {"method": ("id", METHODS.names), "task": ("name", TASKS.names),
               "model": ("source", lambda: list(MODEL_SOURCES))}


def _one_line(err: ValidationError) -> str:
    first = err.errors()[0]
    loc = first["loc"]
    if len(loc) > 1 and loc[0] in _UNION_TAGS:  # drop the union member's tag from the path
        loc = loc[:1] + loc[2:]
    where = ".".join(str(p) for p in loc)
    msg = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        msg = "unknown key"
        if loc[0] in ("task", "model") and len(loc) == 2:
            msg += f" for {loc[0]} {first['loc'][1]!r}"
    elif first["type"] in ("union_tag_not_found", "union_tag_invalid"):
        key, names = _UNION_TAGS[loc[0]]
        msg = f"needs `{key}`, one of: {', '.join(names())}"
    more = f" (and {err.error_count() - 1} more)" if err.error_count() > 1 else ""
    return f"config error at {where}: {msg}{more}" if where else f"config error: {msg}{more}"


def lora_methods() -> list[str]:
    return [name for name, cls in METHODS.items() if cls.supports_lora]


def parse_config(tree: Any) -> RunConfig:
    _sync_unions()
    if tree is None:
        tree = {}
    if not isinstance(tree, dict):
        raise ValueError("config error: the top level must be a mapping of keys to values")
    task = tree.get("task")
    if isinstance(task, dict) and isinstance(task.get("name"), str):
        TASKS.get(task["name"])  # an unknown task: one line listing the registered ones
    # YAML has no tuples: accept a list for tuple fields (betas) by validating in JSON mode.
    try:
        cfg = RunConfig.model_validate_json(_to_json(tree))
    except ValidationError as err:
        raise ValueError(_one_line(err)) from None
    if cfg.batch.packing and not METHODS.get(cfg.method.id).supports_packing:
        raise ValueError(f"config error at batch.packing: method {cfg.method.id!r} does not read "
                         "packed rows (supports_packing); packing works with "
                         f"{', '.join(n for n, c in METHODS.items() if c.supports_packing)}")
    if cfg.peft == "lora" and not METHODS.get(cfg.method.id).supports_lora:
        raise ValueError(f"config error at peft: lora supports methods "
                         f"{', '.join(lora_methods())}, not {cfg.method.id!r}")
    return _resolve_task_defaults(cfg)


def _resolve_task_defaults(cfg: RunConfig) -> RunConfig:
    """Fill what the task decides (generation length, selection metric) into the config, so the
    stored config says what ran; an unknown scorer or task is one line here, before any work."""
    update = {}
    try:
        keys = metric_keys_of_config(cfg.task)
    except ValueError as err:
        raise ValueError(f"config error at task.metric: {err}") from None
    if cfg.eval.max_new_tokens is None:
        update["max_new_tokens"] = TASKS.get(cfg.task.name).max_new_tokens
    if cfg.eval.metric is None:
        update["metric"] = keys[0]
    images = TASKS.get(cfg.task.name).generates_images
    if images and cfg.eval.images is None:
        update["images"] = ImageEvalConfig()
    if not images and cfg.eval.images is not None:
        raise ValueError(f"config error at eval.images: task {cfg.task.name!r} does not "
                         "generate images")
    if not update:
        return cfg
    return cfg.model_copy(update={"eval": cfg.eval.model_copy(update=update)})


def _to_json(tree: dict) -> str:
    import json

    try:
        return json.dumps(tree)
    except TypeError as err:
        raise ValueError(f"config error: unsupported value ({err})") from None


def load_config(path: str | None = None, overrides: list[str] = ()) -> RunConfig:
    tree = load_yaml_file(path) if path else {}
    if tree is None:
        tree = {}
    if not isinstance(tree, dict):
        raise ValueError(f"{path}: the top level must be a mapping of keys to values")
    for assignment in overrides:
        apply_override(tree, assignment)
    return parse_config(tree)


def config_tree(cfg: RunConfig) -> dict:
    """The fully resolved config as plain data (what results store): the sections a cell does
    not use (a pretrained model's tokenizer, LoRA without peft) are left out, not null."""
    unused = {name: True for name, section in (("tokenizer", cfg.tokenizer),
                                               ("lora", cfg.lora)) if section is None}
    # left out, not null, where unused: configs stored before these keys existed stay the same
    unused["eval"] = {key for key, value in (("images", cfg.eval.images),
                                             ("report_step", cfg.eval.report_step))
                      if value is None}
    # serialize_as_any: each section as its own class, whatever RunConfig's annotation is at the
    # time. In a process that unpickled the config (a spawned worker of `run --jobs`) the unions
    # are not rebuilt yet, and a plain dump silently kept only the base fields (no d_max, a,
    # data_seed): results then did not say what ran and reuse never matched.
    return cfg.model_dump(mode="json", exclude=unused, serialize_as_any=True)
