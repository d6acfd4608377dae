"""FID, Inception Score, precision and recall of generated images, through torch-fidelity.

One function for every scale: the feature extractor is a name registered with torch-fidelity
(tiny: the digits classifier, evaluation/digits_features.py; paper: Inception with the ADM
reference batch) and its weights file. What the numbers depend on — the extractor, its weights'
hash, the sample counts, the IS splits and the precision/recall neighbourhood — is returned
beside them, so a result records how its FID was computed and two FIDs of different settings
are never compared silently. Values as the paper prints them: FID and IS raw, precision and
recall as fractions.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch


class _Images(torch.utils.data.Dataset):
    def __init__(self, images: np.ndarray):
        self.images = torch.as_tensor(images)

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        return self.images[i]


def _file_hash(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def image_metrics(generated: np.ndarray, reference: np.ndarray, *, extractor: str,
                  weights_path: str | Path, isc_splits: int = 10,
                  prc_neighborhood: int = 3) -> tuple[dict, dict]:
    """(metrics, settings) of ``generated`` against ``reference`` (uint8 [N, C, H, W] each).

    FID and precision/recall compare the two sets; the Inception Score is the generated set's
    alone. ``extractor`` must be registered with torch-fidelity.
    """
    import torch_fidelity  # importable: ``import mutorbench`` ran compat_torchvision

    generated, reference = np.asarray(generated), np.asarray(reference)
    for name, images in (("generated", generated), ("reference", reference)):
        if images.dtype != np.uint8 or images.ndim != 4:
            raise ValueError(f"image metrics: {name} images must be uint8 [N, C, H, W], got "
                             f"{images.dtype} {images.shape}")
        if len(images) < max(isc_splits, prc_neighborhood + 1, 2):
            raise ValueError(f"image metrics: {len(images)} {name} images are too few "
                             f"(isc_splits={isc_splits}, prc_neighborhood={prc_neighborhood})")
    out = torch_fidelity.calculate_metrics(
        input1=_Images(generated), input2=_Images(reference), cuda=torch.cuda.is_available(),
        fid=True, isc=True, prc=True, feature_extractor=extractor,
        feature_extractor_weights_path=str(weights_path), isc_splits=isc_splits,
        prc_neighborhood=prc_neighborhood, cache=False, save_cpu_ram=True, verbose=False)
    metrics = {"fid": float(out["frechet_inception_distance"]),
               "inception_score": float(out["inception_score_mean"]),
               "precision": float(out["precision"]), "recall": float(out["recall"])}
    settings = {"feature_extractor": extractor, "weights_sha256": _file_hash(weights_path),
                "num_generated": len(generated), "num_reference": len(reference),
                "isc_splits": isc_splits, "prc_neighborhood": prc_neighborhood,
                "library": f"torch-fidelity {torch_fidelity.__version__}"}
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
