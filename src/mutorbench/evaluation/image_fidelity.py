"""FID, Inception Score, precision and recall of generated images, through torch-fidelity.

One function for every scale: the feature extractor is a name registered with torch-fidelity
(tiny: the digits classifier, evaluation/digits_features.py; paper: torch-fidelity's Inception
port with a local weights file, against ADM's reference batch, evaluation/adm_reference.py).
What the numbers depend on — the extractor, its weights' hash, the sample counts, the IS splits,
the precision/recall neighbourhood and the reference — is returned beside them, so a result
records how its FID was computed and two FIDs of different settings are never compared silently.
Values as the paper prints them: FID and IS raw, precision and recall as fractions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from mutorbench.fsio import file_sha256


class _Images(torch.utils.data.Dataset):
    def __init__(self, images: np.ndarray):
        self.images = torch.as_tensor(images)

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        return self.images[i]


@dataclass
class Reference:
    """What generated images are scored against. ``images`` (uint8 [N, C, H, W]) give precision /
    recall, and FID unless ``statistics`` holds precomputed FID statistics (mu, sigma) of a larger
    set (ADM's ImageNet batch: statistics of the whole training set, 10,000 images for precision /
    recall). ``about`` says what it is; it is recorded with the metrics."""
    images: np.ndarray
    statistics: tuple[np.ndarray, np.ndarray] | None = None
    about: dict = field(default_factory=dict)


def _check_images(name: str, images: np.ndarray, isc_splits: int, prc_neighborhood: int):
    if images.dtype != np.uint8 or images.ndim != 4:
        raise ValueError(f"image metrics: {name} images must be uint8 [N, C, H, W], got "
                         f"{images.dtype} {images.shape}")
    if len(images) < max(isc_splits, prc_neighborhood + 1, 2):
        raise ValueError(f"image metrics: {len(images)} {name} images are too few "
                         f"(isc_splits={isc_splits}, prc_neighborhood={prc_neighborhood})")


def image_metrics(generated: np.ndarray, reference: np.ndarray | Reference, *, extractor: str,
                  weights_path: str | Path, isc_splits: int = 10,
                  prc_neighborhood: int = 3) -> tuple[dict, dict]:
    """(metrics, settings) of ``generated`` against ``reference`` (uint8 [N, C, H, W] images, or
    a :class:`Reference`).

    FID and precision/recall compare the two sets (FID against the reference's statistics when
    it has them); the Inception Score is the generated set's alone. ``extractor`` must be
    registered with torch-fidelity. Features are extracted once per set, and every metric is
    torch-fidelity's own function of them (``calculate_metrics`` computes the same from the same
    features: a test holds them equal).
    """
    import torch_fidelity  # importable: ``import mutorbench`` ran compat_torchvision
    from torch_fidelity.metric_fid import fid_features_to_statistics, fid_statistics_to_metric
    from torch_fidelity.metric_isc import isc_featuresdict_to_metric
    from torch_fidelity.metric_prc import prc_features_to_metric
    from torch_fidelity.utils import (
        create_feature_extractor,
        get_featuresdict_from_dataset,
        resolve_feature_layer_for_metric,
    )

    if not isinstance(reference, Reference):
        reference = Reference(np.asarray(reference))
    generated = np.asarray(generated)
    _check_images("generated", generated, isc_splits, prc_neighborhood)
    _check_images("reference", reference.images, isc_splits, prc_neighborhood)
    cuda = torch.cuda.is_available()
    options = {"feature_extractor": extractor, "feature_extractor_weights_path": str(weights_path),
               "isc_splits": isc_splits, "prc_neighborhood": prc_neighborhood, "verbose": False}
    layers = {m: resolve_feature_layer_for_metric(m, **options) for m in ("fid", "isc", "prc")}
    fx = create_feature_extractor(extractor, sorted(set(layers.values())), cuda=cuda, **options)
    # batch 64 and save_cpu_ram as calculate_metrics by default: the same features, bit for bit
    gen, ref = (get_featuresdict_from_dataset(_Images(x), fx, 64, cuda, True, False)
                for x in (generated, reference.images))
    stats_gen = fid_features_to_statistics(gen[layers["fid"]])
    if reference.statistics is None:
        stats_ref = fid_features_to_statistics(ref[layers["fid"]])
    else:  # precomputed (ADM: float64); both sides in the reference's precision
        mu, sigma = (np.asarray(a) for a in reference.statistics)
        if mu.shape != stats_gen["mu"].shape or sigma.shape != stats_gen["sigma"].shape:
            raise ValueError(f"image metrics: the reference statistics are {mu.shape} / "
                             f"{sigma.shape}, the features {stats_gen['mu'].shape}: another "
                             f"feature space than {extractor}")
        stats_ref = {"mu": mu, "sigma": sigma}
        stats_gen = {k: v.astype(stats_ref[k].dtype) for k, v in stats_gen.items()}
    fid = fid_statistics_to_metric(stats_gen, stats_ref, False)["frechet_inception_distance"]
    isc = isc_featuresdict_to_metric(gen, layers["isc"], **options)
    prc = prc_features_to_metric(gen[layers["prc"]], ref[layers["prc"]], **options)
    metrics = {"fid": float(fid), "inception_score": float(isc["inception_score_mean"]),
               "precision": float(prc["precision"]), "recall": float(prc["recall"])}
    settings = {"feature_extractor": extractor, "weights_sha256": file_sha256(weights_path),
                "num_generated": len(generated), "num_reference": len(reference.images),
                "isc_splits": isc_splits, "prc_neighborhood": prc_neighborhood,
                "library": f"torch-fidelity {torch_fidelity.__version__}",
                **({"reference": reference.about} if reference.about else {})}
    return metrics, settings


def frechet_distance(features_1: np.ndarray, features_2: np.ndarray) -> float:
    """The Fréchet distance of two Gaussians fitted to feature sets (the FID formula), in float64
    with scipy's matrix square root: an independent check of the library's number."""
    from scipy import linalg

    f1, f2 = np.asarray(features_1, np.float64), np.asarray(features_2, np.float64)
    mu1, mu2 = f1.mean(0), f2.mean(0)
    s1, s2 = np.cov(f1, rowvar=False), np.cov(f2, rowvar=False)
    covmean, _ = linalg.sqrtm(s1 @ s2, disp=False)
    covmean = covmean.real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))
