"""Image evaluation: sample class-conditional images with guidance, score them against a split.

``eval.images.num_samples`` images are sampled (image_sampling.py: LlamaGen's sampler, classifier-
free guidance, KV cache, one seeded generator per sample from the run's seed), decoded by the
task, and scored against the split's images by FID, Inception Score, precision and recall in the
task's feature space (image_fidelity.py). Expensive: it runs only at ``eval.at_steps`` and the
last step. The settings the numbers depend on (feature space, its weights' hash, sample counts,
guidance) are logged beside the sampled codes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, ClassVar, Literal

import numpy as np
from pydantic import Field

from mutorbench.configbase import PositiveInt, Strict
from mutorbench.evaluation.image_fidelity import image_metrics
from mutorbench.evaluation.image_sampling import balanced_labels, random_labels, sample_codes
from mutorbench.models.adapters import adapter_for
from mutorbench.registry import EVALUATORS
from mutorbench.results import preview_path

KEYS = ("fid", "inception_score", "precision", "recall")
PREVIEW_PER_CLASS, PREVIEW_CLASSES = 8, 10  # the reports' sample grids (report/sample_grids.py)


def write_preview(path: Path, images: np.ndarray, labels: np.ndarray) -> None:
    """The first samples of the first classes, decoded (uint8 [N, C, H, W]) with their labels:
    what a report shows, without rebuilding the task or its decoder (a few KB; not the 50,000)."""
    keep = [k for c in sorted(set(labels.tolist()))[:PREVIEW_CLASSES]
            for k in np.flatnonzero(labels == c)[:PREVIEW_PER_CLASS]]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez_compressed(tmp, images=images[keep], labels=labels[keep])
    tmp.replace(path)  # whole or absent


class ImageEvalConfig(Strict):
    """``eval.images``: LlamaGen's sampler (classifier-free guidance 2.0, temperature 1, no
    top-k / top-p) and FID, IS, precision and recall over ``num_samples`` images in the task's
    feature space."""
    num_samples: PositiveInt = 1000
    cfg_scale: Annotated[float, Field(ge=1.0)] = 2.0  # 1: no guidance
    temperature: Annotated[float, Field(gt=0.0)] = 1.0
    top_k: Annotated[int, Field(ge=0)] = 0  # 0: off
    top_p: Annotated[float, Field(gt=0.0, le=1.0)] = 1.0  # 1: off
    labels: Literal["balanced", "random"] = "balanced"  # random: uniform, as LlamaGen's sampler
    batch_size: PositiveInt = 100
    # where the tiny scale's digits classifier (the feature space) is cached
    feature_cache: str = "results/features"


@EVALUATORS.register
@dataclass
class ImageFidelityEvaluator:
    name: ClassVar[str] = "image_fidelity"
    expensive: ClassVar[bool] = True  # sampling and scoring images: at eval.at_steps only

    task: object  # an image task: reference, decode_images, feature_space
    settings: object  # eval.images (ImageEvalConfig)
    seed: int = 0  # the run's: sample k is drawn from (seed, k)

    @classmethod
    def from_config(cls, task, eval_cfg, *, prefix_attention: str,
                    seed: int = 0) -> ImageFidelityEvaluator:
        return cls(task, eval_cfg.images or ImageEvalConfig(), seed=seed)

    @classmethod
    def value_keys(cls, metric: str, *, teacher_forced: bool,
                   probes: Sequence[str] = ()) -> tuple[str, ...]:
        return KEYS

    def labels(self) -> list[int]:
        s, n = self.settings, self.task.num_classes
        if s.labels == "random":
            return random_labels(s.num_samples, n, self.seed)
        return balanced_labels(s.num_samples, n)

    def pairs(self, split: str) -> list[tuple[str, str]]:
        """What is sampled: one (class, sample) pair per image."""
        return [(f"class {c}", f"sample {k}") for k, c in enumerate(self.labels())]

    def prepare(self, tokenizer, split: str, *, max_positions: int | None):
        """Before any step: the grid fits the model, and the split's images and the feature
        space exist (a missing file is one error now, not after training)."""
        need = 1 + self.task.grid * self.task.grid
        if max_positions is not None and need > max_positions:
            raise ValueError(f"task {self.task.name!r}: a class token and a "
                             f"{self.task.grid}x{self.task.grid} grid need {need} positions, "
                             f"the model has {max_positions}")
        self.task.reference(split)
        self.task.feature_space(self.settings.feature_cache)
        self.task.decode_images(np.zeros((1, self.task.grid ** 2), dtype=np.int64))

    def __call__(self, model, tokenizer, split: str, *, suppress_ids: Sequence[int] = (),
                 log_path: str | Path | None = None, decode=None, scoring_inputs=None,
                 probe=None) -> dict:
        if adapter_for(model).family != "llamagen":
            raise ValueError("image sampling needs a LlamaGen model (model.source=llamagen)")
        s = self.settings
        labels = self.labels()
        codes = sample_codes(model, labels, cfg_scale=s.cfg_scale, temperature=s.temperature,
                             top_k=s.top_k, top_p=s.top_p, seed=self.seed,
                             batch_size=s.batch_size).cpu().numpy()
        extractor, weights = self.task.feature_space(s.feature_cache)
        images = self.task.decode_images(codes)
        metrics, recorded = image_metrics(images, self.task.reference(split),
                                          extractor=extractor, weights_path=weights)
        if log_path is not None:
            from mutorbench.fsio import atomic_write_text

            head = {"settings": recorded | {"split": split, "split_hash":
                                            self.task.split_hash(split),
                                            "cfg_scale": s.cfg_scale,
                                            "temperature": s.temperature, "top_k": s.top_k,
                                            "top_p": s.top_p, "labels": s.labels,
                                            "sample_seed": self.seed}, "metrics": metrics}
            write_preview(preview_path(log_path), images, np.asarray(labels))
            atomic_write_text(log_path, json.dumps(head) + "\n" + "".join(
                json.dumps({"index": k, "label": int(c), "codes": np.asarray(z).tolist()}) + "\n"
                for k, (c, z) in enumerate(zip(labels, codes))))
        return metrics
