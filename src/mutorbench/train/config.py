"""The run configuration: one typed tree, strict (unknown keys and wrong types are errors).

A YAML file plus ``--set key=value`` overrides resolve to a :class:`RunConfig`; the resolved tree is
stored in every result, and feeding it back to ``mutor-bench train`` reproduces the run.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import Field, ValidationError, model_validator
from pydantic.fields import FieldInfo

import mutorbench.methods  # noqa: F401 (registers the built-in methods)
from mutorbench.configbase import PositiveInt
from mutorbench.configbase import Strict as _Strict
from mutorbench.methods.ntp import NtpConfig
from mutorbench.registry import METHODS
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


class ModelConfig(_Strict):
    source: Literal["tiny", "pretrained"] = "tiny"
    arch: Literal["llama", "gemma", "qwen2", "gpt2"] = "gemma"  # tiny: config family
    name_or_path: str | None = None  # pretrained: HF id or local directory
    revision: str | None = None
    hidden_size: PositiveInt = 96
    num_layers: PositiveInt = 2
    num_heads: PositiveInt = 4
    num_kv_heads: PositiveInt | None = None
    intermediate_size: PositiveInt | None = None
    attn_implementation: Literal["sdpa", "eager"] = "sdpa"
    pretrain: PretrainConfig | None = None  # tiny: None trains from scratch

    @model_validator(mode="after")
    def _heads_divide(self):
        """Checked here (one line) rather than by transformers' config validator (a traceback)."""
        if self.source == "tiny":
            if self.hidden_size % self.num_heads:
                raise ValueError(f"hidden_size {self.hidden_size} is not a multiple of "
                                 f"num_heads {self.num_heads}")
            if self.num_kv_heads is not None and self.num_heads % self.num_kv_heads:
                raise ValueError(f"num_heads {self.num_heads} is not a multiple of "
                                 f"num_kv_heads {self.num_kv_heads}")
        return self


class TokenizerConfig(_Strict):
    vocab_size: PositiveInt = 384  # tiny scale: byte-level BPE trained on the task's training text
    split_digits: bool = False  # one token per digit (as Gemma's tokenizer); for arithmetic tasks
    # numeral: one token per word of the task's fixed vocabulary (star_graph node ids), no BPE
    kind: Literal["bpe", "numeral"] = "bpe"


class GraphConfig(_Strict):
    """`star_graph` only: ``degree`` arms of ``path_length`` nodes (source included) from a source."""
    degree: Annotated[int, Field(ge=2)] = 2
    path_length: Annotated[int, Field(ge=2)] = 5
    num_nodes: PositiveInt = 50


class TaskConfig(_Strict):
    name: str = "arith"
    data_seed: int = 0  # generated data: fixed across run seeds, like a real dataset
    train_examples: PositiveInt = 2000
    eval_examples: PositiveInt = 128
    max_length: PositiveInt = 512  # register-free prompt + answer tokens; longer examples dropped
    local_path: str | None = None  # a local copy of the dataset (no hub access needed)
    # one explicit file per split (split -> path), instead of finding it under local_path
    files: dict[str, str] | None = None
    revision: str | None = None  # hub dataset revision
    metric: str | None = None  # override the task's metric (arith, gsm8k, math, aqua, exact, rouge)
    graph: GraphConfig = GraphConfig()


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
    schedule: Literal["linear", "constant"] = "linear"  # linear: warmup then linear decay to 0
    warmup_fraction: Annotated[float, Field(ge=0.0, le=1.0)] = 0.1
    grad_clip: Annotated[float, Field(gt=0.0)] | None = 1.0


class BatchConfig(_Strict):
    micro_batch_size: PositiveInt = 16  # per process
    grad_accumulation: PositiveInt = 1


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
    selection: Literal["best", "last"] = "best"
    metric: str | None = None  # the value selection reads; None: the task's first (accuracy, rougeL)
    # also evaluate every N steps (learning curves); these evaluations are checkpoints too, so
    # selection "best" may pick one. None: at epoch ends (and the last step) only.
    every_steps: PositiveInt | None = None
    limit: PositiveInt | None = None  # score only the first N examples of each split (a quick look)

    @property
    def splits(self) -> list[str]:
        """The evaluated splits: selection's, then the reported one (once if the same)."""
        return list(dict.fromkeys([self.select_split, self.report_split]))


class RunConfig(_Strict):
    table: str | None = None
    cell: dict[str, str] | None = None
    scale: str = "tiny"
    seed: int = 0
    model: ModelConfig = ModelConfig()
    tokenizer: TokenizerConfig = TokenizerConfig()
    task: TaskConfig = TaskConfig()
    method: NtpConfig = NtpConfig()  # the union of every registered method's Config (below)
    optim: OptimConfig = OptimConfig()
    batch: BatchConfig = BatchConfig()
    budget: BudgetConfig = BudgetConfig()
    peft: Literal["none", "lora"] = "none"  # lora: only adapters and register rows train
    lora: LoraConfig = LoraConfig()
    precision: Literal["fp32", "bf16", "bf16-autocast"] = "fp32"
    parallel: Literal["ddp", "fsdp"] = "ddp"  # with several processes: replicate or shard
    checkpoint_every_steps: PositiveInt | None = None
    eval: EvalConfig = EvalConfig()
    threads: PositiveInt | None = None  # torch intra-op threads; recorded either way
    export: bool = False  # save the final model as the plain base architecture in <run>/model
    output_dir: str = "results/runs"
    run_name: str | None = None  # default: <method>-seed<seed>


_method_union_version = -1


def _sync_method_union() -> None:
    """RunConfig's ``method`` section: a union of every registered method's config, tagged by
    ``id``; rebuilt (in place, so RunConfig stays one class) when a method was registered."""
    global _method_union_version
    if _method_union_version == METHODS.version:
        return
    configs = tuple(cls.Config for _, cls in METHODS.items())
    RunConfig.__pydantic_fields__["method"] = FieldInfo.from_annotated_attribute(
        Annotated[Union[configs], Field(discriminator="id")], NtpConfig())  # noqa: UP007
    RunConfig.model_rebuild(force=True)
    _method_union_version = METHODS.version


def _one_line(err: ValidationError) -> str:
    first = err.errors()[0]
    loc = [p for i, p in enumerate(first["loc"])
           if not (i == 1 and first["loc"][0] == "method" and p in METHODS)]
    where = ".".join(str(p) for p in loc) or "config"
    msg = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        msg = "unknown key"
    elif first["type"] in ("union_tag_not_found", "union_tag_invalid"):
        msg = f"needs `id`, one of: {', '.join(METHODS.names())}"
    more = f" (and {err.error_count() - 1} more)" if err.error_count() > 1 else ""
    return f"config error at {where}: {msg}{more}"


def lora_methods() -> list[str]:
    return [name for name, cls in METHODS.items() if cls.supports_lora]


def parse_config(tree: Any) -> RunConfig:
    _sync_method_union()
    if tree is None:
        tree = {}
    if not isinstance(tree, dict):
        raise ValueError("config error: the top level must be a mapping of keys to values")
    # YAML has no tuples: accept a list for tuple fields (betas) by validating in JSON mode.
    try:
        cfg = RunConfig.model_validate_json(_to_json(tree))
    except ValidationError as err:
        raise ValueError(_one_line(err)) from None
    if cfg.peft == "lora" and not METHODS.get(cfg.method.id).supports_lora:
        raise ValueError(f"config error at peft: lora supports methods "
                         f"{', '.join(lora_methods())}, not {cfg.method.id!r}")
    return _resolve_task_defaults(cfg)


def _resolve_task_defaults(cfg: RunConfig) -> RunConfig:
    """Fill what the task decides (generation length, selection metric) into the config, so the
    stored config says what ran; an unknown scorer or task is one line here, before any work."""
    from mutorbench.evaluation.evaluator import SCORER_KEYS
    from mutorbench.tasks import task_class

    update = {}
    task = task_class(cfg.task.name)
    if cfg.eval.max_new_tokens is None:
        update["max_new_tokens"] = task.max_new_tokens
    if cfg.eval.metric is None:
        scorer = cfg.task.metric or task.metric
        if scorer not in SCORER_KEYS:
            raise ValueError(f"config error at task.metric: unknown metric {scorer!r}; expected "
                             f"one of {', '.join(SCORER_KEYS)}")
        update["metric"] = SCORER_KEYS[scorer][0]
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
    """The fully resolved config as plain data (what results store)."""
    return cfg.model_dump(mode="json")
