"""The paper's scoring protocol for ImageNet 256 (ADM's evaluator, Dhariwal & Nichol): FID, IS,
precision and recall of 50,000 samples against ``VIRTUAL_imagenet256_labeled.npz``.

That file holds ``arr_0``, 10,000 ImageNet images (uint8 [N, 256, 256, 3], for precision /
recall), and ``mu`` / ``sigma``, the Inception pool_3 statistics of the whole training set (what
FID compares to); ADM's evaluator reads them from the file when present, and so do we. Its
features come from TensorFlow's Inception graph (2015-12-05); ours from torch-fidelity's port of
that graph (``inception-v3-compat``), whose weights are a GitHub download
(``pt_inception-2015-12-05-6726825d.pth``): a local path is required. The two agree closely but
not exactly: torch-fidelity states machine-precision agreement with the reference TensorFlow
implementations on the same inputs; pytorch-fid, another port of the same weights, reports an
FID difference of 0.08 absolute (0.09% relative) against TensorFlow's on LSUN. The report says so.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mutorbench.evaluation.image_fidelity import Reference
from mutorbench.fsio import file_sha256

INCEPTION_FILE = "pt_inception-2015-12-05-6726825d.pth"
CAVEAT = ("features from torch-fidelity's port of TensorFlow's Inception, statistics and images "
          "from ADM's reference batch (TensorFlow Inception): close to ADM's evaluator, not "
          "identical (pytorch-fid reports 0.08 absolute FID between such ports on LSUN)")


def inception_weights(path: str | None) -> Path:
    """The local Inception weights file, or one error naming the flag."""
    if not path or not Path(path).is_file():
        raise ValueError(f"Inception weights {path or '(none given)'} not found: FID on ImageNet "
                         f"uses torch-fidelity's inception-v3-compat with a local "
                         f"{INCEPTION_FILE} (a GitHub download): pass it with "
                         "--set task.inception_weights=PATH")
    return Path(path)


def read_adm_reference(path: str | None) -> Reference:
    """ADM's reference batch: images as uint8 [N, 3, H, W], and its FID statistics."""
    if not path or not Path(path).is_file():
        raise ValueError(f"reference batch {path or '(none given)'} not found: ImageNet 256 is "
                         "scored against ADM's VIRTUAL_imagenet256_labeled.npz (a download): "
                         "pass it with --set task.reference_batch=PATH")
    with np.load(path) as data:
        missing = [k for k in ("arr_0", "mu", "sigma") if k not in data.files]
        if missing:
            raise ValueError(f"{path}: not an ADM reference batch (no {', '.join(missing)}; "
                             f"it has {', '.join(data.files)})")
        images, mu, sigma = data["arr_0"], data["mu"], data["sigma"]
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"{path}: arr_0 must be uint8 [N, H, W, 3], got {images.dtype} "
                         f"{images.shape}")
    if mu.ndim != 1 or sigma.shape != (len(mu), len(mu)):
        raise ValueError(f"{path}: mu {mu.shape} and sigma {sigma.shape} are not a mean and its "
                         "covariance")
    about = {"reference_batch": Path(path).name, "sha256": file_sha256(path),
             "images": int(len(images)), "statistics": "the file's mu / sigma", "caveat": CAVEAT}
    return Reference(np.ascontiguousarray(images.transpose(0, 3, 1, 2)), (mu, sigma), about)


def write_random_inception_weights(path: str | Path, seed: int = 0) -> Path:
    """A weights file of torch-fidelity's Inception with random values, for throughput
    measurements and tests of the code path only: no metric computed with it means anything."""
    import torch
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    path = Path(path)
    torch.save({}, path)  # read and ignored below: the constructor insists on a file
    original = FeatureExtractorInceptionV3.load_state_dict
    FeatureExtractorInceptionV3.load_state_dict = lambda self, state, *a, **k: None
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            module = FeatureExtractorInceptionV3("random-inception", ["2048"],
                                                 feature_extractor_weights_path=str(path))
    finally:
        FeatureExtractorInceptionV3.load_state_dict = original
    torch.save(module.state_dict(), path)
    return path
