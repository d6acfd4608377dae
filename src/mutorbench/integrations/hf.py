"""MuToR (or any registered method) inside Hugging Face ``Trainer`` and TRL's ``SFTTrainer``.

Two lines change in an existing script: the trainer class, and a ``method``::

    trainer = MuToRSFTTrainer(model=model, processing_class=tokenizer, train_dataset=data,
                              args=SFTConfig(...), method=make_method("mutor", d_max=4, a=0.3))

- ``MuToRCollator`` turns tokenized examples into the method's batch (registers, 4-D mask,
  labels), with the method's offsets drawn from (seed, epoch, example ``index``) exactly as
  ``mutor-bench train`` draws them. It reads ``{"prompt_ids", "answer_ids", "index"}`` or TRL's
  tokenized prompt/completion rows ``{"input_ids", "labels", "index"}`` (prompt = the leading
  ``-100`` labels; TRL has appended EOS to the completion).
- The trainers' ``compute_loss`` is the method's loss (``methods/losses.combine``), and every log
  carries its parts (``loss_regular``, ``loss_register`` ...) through the trainer's own logging,
  so they reach whatever ``report_to`` the user chose.
- ``prepare`` (register tokens and embedding rows) runs once, before the optimizer exists;
  ``save_model`` saves through the method's export: a plain causal LM without registers (the
  trainer's own checkpoints stay complete, so ``resume_from_checkpoint`` works).
- ``order_seed``: the data order of ``mutor-bench train`` (``train/sampler.py``) instead of the
  trainer's shuffle, so a Trainer run and a suite run see the same batches.

Attention: a 4-D additive mask for ``sdpa`` and ``eager``, a BlockMask for ``flex_attention``
(flash attention takes neither); TRL's ``packing`` must stay off.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields

import torch
from transformers import Trainer, TrainerCallback

from mutorbench.examples import Example
from mutorbench.methods.layout import IGNORE_INDEX, ModelInputs
from mutorbench.methods.losses import combine
from mutorbench.models.export import export_model
from mutorbench.registry import METHODS
from mutorbench.train.budget import steps_per_epoch
from mutorbench.train.sampler import OrderSampler

BATCH_KEYS = tuple(f.name for f in fields(ModelInputs))


def make_method(method_id: str, *, seed: int = 0, **options):
    """A registered method from its id and options, checked by its own config section."""
    import mutorbench.methods  # noqa: F401 (registers the built-in methods)

    cls = METHODS.get(method_id)
    return cls.from_config(cls.Config(id=method_id, **options), seed=seed)


def _example(feature: dict) -> Example:
    if "index" not in feature:
        raise ValueError("each training row needs an `index` column (its position in the "
                         "dataset): the method's offsets are drawn from it; add it with "
                         "dataset.map(lambda row, i: {'index': i}, with_indices=True)")
    if "prompt_ids" in feature:
        prompt, answer = list(feature["prompt_ids"]), list(feature["answer_ids"])
    elif "input_ids" in feature and "labels" in feature:  # TRL's tokenized prompt/completion
        ids, labels = list(feature["input_ids"]), list(feature["labels"])
        start = next((k for k, label in enumerate(labels) if label != IGNORE_INDEX), len(ids))
        if any(label == IGNORE_INDEX for label in labels[start:]):
            raise ValueError(f"row {feature['index']}: masked tokens inside the completion; "
                             "MuToR needs one prompt followed by one completion")
        prompt, answer = ids[:start], ids[start:]
    else:
        raise ValueError(f"a training row needs prompt_ids/answer_ids or input_ids/labels, "
                         f"got {sorted(feature)}")
    if not prompt or not answer:
        raise ValueError(f"row {feature['index']}: empty {'prompt' if not prompt else 'answer'}")
    return Example(tuple(prompt), tuple(answer), int(feature["index"]))


class MuToRCollator:
    """Rows -> the method's batch, as a dict of tensors (the trainer moves it to the device)."""

    def __init__(self, method, *, pad_id: int, dtype: torch.dtype = torch.float32):
        self.method, self.pad_id, self.dtype = method, pad_id, dtype
        self.epoch = 0  # set by EpochCallback: offsets are a function of (seed, epoch, index)

    def __call__(self, features: Sequence[dict]) -> dict[str, torch.Tensor]:
        batch = self.method.build_batch([_example(f) for f in features], pad_id=self.pad_id,
                                        epoch=self.epoch, dtype=self.dtype)
        return {name: getattr(batch, name) for name in BATCH_KEYS}


class EpochCallback(TrainerCallback):
    def __init__(self, collator: MuToRCollator):
        self.collator = collator

    def on_epoch_begin(self, args, state, control, **kwargs):
        self.collator.epoch = int(state.epoch or 0)


class OrderedSampler(torch.utils.data.Sampler):
    """``mutor-bench train``'s data order for one process: epoch e is the (seed, e) permutation,
    cut to whole global batches (the trainer must drop the last partial batch)."""

    def __init__(self, seed: int, n_examples: int, micro_batch: int, accumulation: int,
                 world_size: int):
        self.order = OrderSampler(seed, n_examples, micro_batch * accumulation * world_size,
                                  steps_per_epoch(n_examples, micro_batch, accumulation,
                                                  world_size))
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:  # called by the trainer's data loader
        self.epoch = epoch

    def __len__(self) -> int:
        return self.order.steps_per_epoch * self.order.global_batch

    def __iter__(self):
        return iter(self.order.permutation(self.epoch)[:len(self)].tolist())


class MethodTrainerMixin:
    """What both trainers share: the method's batches, loss, logs, order and export."""

    def __init__(self, *args, method, order_seed: int | None = None, **kwargs):
        model = kwargs.get("model") if "model" in kwargs else args[0]
        tokenizer = kwargs.get("processing_class")
        if model is None or tokenizer is None:
            raise ValueError("pass model= and processing_class= (the tokenizer): the method adds "
                             "its tokens and embedding rows to both before training")
        method.prepare(model, tokenizer)  # before the optimizer exists, so it sees new rows
        self.method, self.order_seed = method, order_seed
        self._weights = method.loss_weights()
        self._parts: dict[str, list[float]] = {}
        if kwargs.get("data_collator") is None:
            kwargs["data_collator"] = MuToRCollator(method, pad_id=tokenizer.pad_token_id)
        super().__init__(*args, **kwargs)
        self.model_accepts_loss_kwargs = False  # the trainer averages micro-batch losses
        if isinstance(self.data_collator, MuToRCollator):
            self.add_callback(EpochCallback(self.data_collator))

    def _set_signature_columns_if_needed(self):
        # keep what the collator reads (the trainers drop columns their model does not take)
        self._signature_columns = ["prompt_ids", "answer_ids", "input_ids", "labels", "index"]

    def _get_train_sampler(self, *args, **kwargs):
        if self.order_seed is None:
            return super()._get_train_sampler(*args, **kwargs)
        if not self.args.dataloader_drop_last:
            raise ValueError("order_seed needs dataloader_drop_last=True (mutor-bench's epochs "
                             "are whole global batches)")
        a = self.args
        return OrderedSampler(self.order_seed, len(self.train_dataset),
                              a.per_device_train_batch_size, a.gradient_accumulation_steps,
                              a.world_size)

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        batch = ModelInputs(**{name: inputs[name] for name in BATCH_KEYS})
        terms = self.method.loss_terms(model, batch)
        loss = combine(terms, self._weights)
        if model.training:
            for name, t in terms.items():
                self._parts.setdefault(name, []).append(float(t.value.detach()))
        return (loss, None) if return_outputs else loss

    def log(self, logs: dict, *args, **kwargs) -> None:
        if "loss" in logs and self._parts:  # the parts' mean since the last training log
            logs.update({f"loss_{n}": sum(v) / len(v) for n, v in self._parts.items()})
            self._parts = {}
        super().log(logs, *args, **kwargs)

    def save_model(self, output_dir: str | None = None, _internal_call: bool = False):
        if _internal_call:  # the trainer's checkpoints: complete, resumable
            return super().save_model(output_dir, _internal_call=True)
        if self.args.should_save:
            export_model(self.accelerator.unwrap_model(self.model), self.method,
                         self.processing_class, output_dir or self.args.output_dir)
        return None


class MuToRTrainer(MethodTrainerMixin, Trainer):
    """``transformers.Trainer`` training a registered method (rows: prompt_ids, answer_ids,
    index)."""


def _sft_trainer():
    try:
        from trl import SFTTrainer
    except ImportError:
        raise ImportError("MuToRSFTTrainer needs TRL: pip install 'mutorbench[hf]'") from None
    return SFTTrainer


def __getattr__(name: str):
    """``MuToRSFTTrainer`` is built on first use, so this module imports without TRL."""
    if name == "MuToRSFTTrainer":
        cls = type("MuToRSFTTrainer", (MethodTrainerMixin, _sft_trainer()), {
            "__doc__": "TRL's SFTTrainer training a registered method on prompt/completion "
                       "rows (plus an `index` column); packing must stay off.",
            "__module__": __name__})
        globals()[name] = cls
        return cls
    raise AttributeError(name)
