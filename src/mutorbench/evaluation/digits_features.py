"""The tiny scale's feature space for FID / IS / precision / recall: a small digits classifier.

Inception features mean nothing on 8 x 8 grey digits, so tiny-scale image metrics are computed in
the feature space of a small CNN trained (seeded) on the digits' training split: its 64-wide
penultimate layer gives the FID / precision / recall features, its 10 logits the Inception Score.
Reports call it "FID in a digits classifier's feature space", never Inception FID. The classifier
is trained once per recipe and cached like the tiny text base (keyed by everything that shapes
its weights, written to a temporary file and renamed into place). It plugs into torch-fidelity
as a registered feature extractor, so the paper scale swaps in Inception with one name.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path

import torch
from torch import nn

from mutorbench import digits_data
from mutorbench.fsio import atomic_write_bytes

EXTRACTOR_NAME = "mutorbench-digits-cnn"
FEATURES = ("penultimate", "logits")
RECIPE = {"version": 1, "width": 64, "epochs": 15, "batch_size": 64, "lr": 2e-3,
          "weight_decay": 1e-4}


class DigitsCNN(nn.Module):
    """8 x 8 grey image in [0, 1] -> (64 features, 10 logits)."""

    def __init__(self, width: int = 64):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # -> 32 x 4 x 4
            nn.Flatten(), nn.Linear(32 * 16, width), nn.ReLU())
        self.head = nn.Linear(width, digits_data.NUM_CLASSES)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.body(x)
        return features, self.head(features)


def _as_input(images) -> torch.Tensor:
    """uint8 [B, 1, 8, 8] (numpy or torch) -> float in [0, 1]."""
    x = torch.as_tensor(images)
    if x.dtype != torch.uint8:
        raise ValueError(f"digits features: expected uint8 images, got {x.dtype}")
    return x.float() / 255.0


def train_classifier(seed: int = 0, recipe: dict = RECIPE) -> tuple[DigitsCNN, dict]:
    """The classifier trained on the training split from ``seed``, and its held-out accuracy."""
    gen = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):  # seeded init without touching the global RNG
        torch.manual_seed(seed)
        model = DigitsCNN(recipe["width"])
    train = digits_data.load_split("train")
    x = _as_input(digits_data.to_images(train.codes))
    y = torch.as_tensor(train.labels)
    opt = torch.optim.AdamW(model.parameters(), lr=recipe["lr"],
                            weight_decay=recipe["weight_decay"])
    model.train()
    for _ in range(recipe["epochs"]):
        order = torch.randperm(len(x), generator=gen)
        for s in range(0, len(x), recipe["batch_size"]):
            idx = order[s:s + recipe["batch_size"]]
            loss = nn.functional.cross_entropy(model(x[idx])[1], y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()
    return model, {f"accuracy_{split}": accuracy(model, split) for split in ("validation", "test")}


@torch.no_grad()
def accuracy(model: DigitsCNN, split: str) -> float:
    grids = digits_data.load_split(split)
    logits = model(_as_input(digits_data.to_images(grids.codes)))[1]
    return 100.0 * (logits.argmax(-1) == torch.as_tensor(grids.labels)).float().mean().item()


def classifier_key(seed: int, recipe: dict = RECIPE) -> str:
    blob = json.dumps({"recipe": recipe, "seed": seed,
                       "train_split": digits_data.split_hash("train")}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def ensure_classifier(cache_dir: str | os.PathLike, seed: int = 0) -> Path:
    """The cached classifier's weights file, trained on first use and written atomically."""
    final = Path(cache_dir) / f"digits-cnn-{classifier_key(seed)}.pt"
    if final.exists():
        return final
    model, report = train_classifier(seed)
    blob = io.BytesIO()
    torch.save({"state_dict": model.state_dict(), "recipe": RECIPE, "seed": seed,
                "report": report}, blob)
    return atomic_write_bytes(final, blob.getvalue())


def load_classifier(path: str | os.PathLike) -> tuple[DigitsCNN, dict]:
    blob = torch.load(path, map_location="cpu", weights_only=True)
    model = DigitsCNN(blob["recipe"]["width"])
    model.load_state_dict(blob["state_dict"])
    return model.eval(), blob["report"]


def register_extractor() -> str:
    """Register the classifier with torch-fidelity (once) and return its name."""
    import torch_fidelity  # importable: ``import mutorbench`` ran compat_torchvision
    from torch_fidelity.feature_extractor_base import FeatureExtractorBase
    from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY

    if EXTRACTOR_NAME in FEATURE_EXTRACTORS_REGISTRY:
        return EXTRACTOR_NAME

    class DigitsFeatureExtractor(FeatureExtractorBase):
        def __init__(self, name, features_list, feature_extractor_weights_path=None, **kwargs):
            super().__init__(name, features_list)
            if feature_extractor_weights_path is None:
                raise ValueError(f"{EXTRACTOR_NAME}: feature_extractor_weights_path is required "
                                 "(the cached classifier, evaluation/digits_features.py)")
            self.model = load_classifier(feature_extractor_weights_path)[0]

        @staticmethod
        def get_provided_features_list():
            return FEATURES

        @staticmethod
        def get_default_feature_layer_for_metric(metric):
            return {"isc": "logits"}.get(metric, "penultimate")

        @staticmethod
        def can_be_compiled():
            return False

        @staticmethod
        def get_dummy_input_for_compile():
            return torch.zeros(1, 1, digits_data.GRID, digits_data.GRID, dtype=torch.uint8)

        def forward(self, x):
            features, logits = self.model(_as_input(x))
            named = dict(zip(FEATURES, (features, logits)))
            return tuple(named[f] for f in self.features_list)

    torch_fidelity.register_feature_extractor(EXTRACTOR_NAME, DigitsFeatureExtractor)
    return EXTRACTOR_NAME
