"""Scoring as the paper (ADM's protocol), without Inception's weights: the FID math through
torch-fidelity with a registered stand-in extractor (0 for identical sets, the closed form for two
Gaussians, precomputed statistics read from an ADM-layout .npz), the same numbers as
torch-fidelity's own calculate_metrics, and one clear error per missing file."""

import numpy as np
import pytest
import torch

pytest.importorskip("torch_fidelity")

from mutorbench.evaluation.adm_reference import (  # noqa: E402
    inception_weights,
    read_adm_reference,
)
from mutorbench.evaluation.image_fidelity import Reference, image_metrics  # noqa: E402

STAND_IN = "mutorbench-test-first-pixels"


def register_stand_in() -> str:
    """Features = the first two pixels of row 0, channel 0, as floats (so a test chooses them
    exactly); the same two numbers serve as IS logits."""
    import torch_fidelity
    from torch_fidelity.feature_extractor_base import FeatureExtractorBase
    from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY

    if STAND_IN in FEATURE_EXTRACTORS_REGISTRY:
        return STAND_IN

    class FirstPixels(FeatureExtractorBase):
        def __init__(self, name, features_list, **kwargs):
            super().__init__(name, features_list)

        @staticmethod
        def get_provided_features_list():
            return ("pixels", "logits")

        @staticmethod
        def get_default_feature_layer_for_metric(metric):
            return {"isc": "logits"}.get(metric, "pixels")

        @staticmethod
        def can_be_compiled():
            return False

        @staticmethod
        def get_dummy_input_for_compile():
            return torch.zeros(1, 3, 4, 4, dtype=torch.uint8)

        def forward(self, x):
            f = x[:, 0, 0, :2].double()
            return tuple(f if name == "pixels" else f.float() for name in self.features_list)

    torch_fidelity.register_feature_extractor(STAND_IN, FirstPixels)
    return STAND_IN


def images_with(first_pixels: list[tuple[int, int]]) -> np.ndarray:
    out = np.zeros((len(first_pixels), 3, 4, 4), np.uint8)
    out[:, 0, 0, :2] = first_pixels
    return out


def four_corners(m: tuple[int, int], s: tuple[int, int], copies: int = 3) -> np.ndarray:
    """Points m +- s in each coordinate: mean m, covariance diag(s^2) x n / (n - 1)."""
    points = [(m[0] + a * s[0], m[1] + b * s[1]) for a in (-1, 1) for b in (-1, 1)]
    return images_with(points * copies)


@pytest.fixture()
def weights(tmp_path):
    path = tmp_path / "stand-in.bin"
    path.write_bytes(b"no weights: a stand-in")
    return path


def test_fid_is_zero_for_one_set_and_the_closed_form_for_two_gaussians(weights):
    name = register_stand_in()
    a, b = four_corners((100, 60), (10, 4)), four_corners((90, 80), (30, 8))
    same, _ = image_metrics(a, a, extractor=name, weights_path=weights)
    assert same["fid"] == pytest.approx(0.0, abs=1e-9) and same["precision"] == 1.0
    got, settings = image_metrics(a, b, extractor=name, weights_path=weights)
    n = len(a)  # np.cov's unbiased covariance: diag(s^2) n / (n - 1)
    closed = (100 - 90) ** 2 + (60 - 80) ** 2 + n / (n - 1) * ((10 - 30) ** 2 + (4 - 8) ** 2)
    assert got["fid"] == pytest.approx(closed, rel=1e-9)  # 600 + 12/11 x 416
    assert settings["feature_extractor"] == name and settings["num_reference"] == 12


def test_an_adm_batch_gives_its_statistics_and_its_images(tmp_path, weights):
    name = register_stand_in()
    ref_images, other = four_corners((100, 60), (10, 4)), four_corners((90, 80), (30, 8))
    f = ref_images[:, 0, 0, :2].astype(np.float64)
    path = tmp_path / "VIRTUAL_imagenet256_labeled.npz"
    np.savez(path, arr_0=ref_images.transpose(0, 2, 3, 1), arr_1=np.zeros(12),
             mu=f.mean(0), sigma=np.cov(f, rowvar=False))
    ref = read_adm_reference(path)
    assert ref.images.shape == (12, 3, 4, 4) and np.array_equal(ref.images, ref_images)
    assert ref.about["images"] == 12 and len(ref.about["sha256"]) == 64
    via_stats, settings = image_metrics(other, ref, extractor=name, weights_path=weights)
    via_images, _ = image_metrics(other, ref_images, extractor=name, weights_path=weights)
    assert via_stats == pytest.approx(via_images, rel=1e-9)
    assert settings["reference"]["statistics"] == "the file's mu / sigma"
    # statistics of another set are used as they are, not recomputed from the images
    np.savez(path, arr_0=ref_images.transpose(0, 2, 3, 1), mu=f.mean(0) + 5.0,
             sigma=np.cov(f, rowvar=False))
    shifted, _ = image_metrics(other, read_adm_reference(path), extractor=name,
                               weights_path=weights)
    assert shifted["fid"] != pytest.approx(via_images["fid"])
    assert shifted["precision"] == via_images["precision"]  # precision / recall: the images


def test_missing_or_foreign_scoring_files_are_one_error_each(tmp_path):
    with pytest.raises(ValueError, match="pass it with --set task.reference_batch=PATH"):
        read_adm_reference(tmp_path / "absent.npz")
    with pytest.raises(ValueError, match="pass it with --set task.inception_weights=PATH"):
        inception_weights(None)
    np.savez(tmp_path / "samples.npz", arr_0=np.zeros((2, 4, 4, 3), np.uint8))
    with pytest.raises(ValueError, match="not an ADM reference batch \\(no mu, sigma"):
        read_adm_reference(tmp_path / "samples.npz")
    np.savez(tmp_path / "floats.npz", arr_0=np.zeros((2, 4, 4, 3)), mu=np.zeros(2),
             sigma=np.eye(2))
    with pytest.raises(ValueError, match="arr_0 must be uint8"):
        read_adm_reference(tmp_path / "floats.npz")


def test_statistics_of_another_feature_space_are_refused(tmp_path, weights):
    name = register_stand_in()
    ref = Reference(four_corners((100, 60), (10, 4)), (np.zeros(2048), np.eye(2048)))
    with pytest.raises(ValueError, match="another feature space"):
        image_metrics(four_corners((1, 2), (1, 1)), ref, extractor=name, weights_path=weights)


def test_features_then_metrics_equal_torch_fidelitys_calculate_metrics(digits_cnn_dir):
    """The digits tables' numbers did not move when scoring went through features first."""
    import torch_fidelity

    from mutorbench import digits_data as dd
    from mutorbench.evaluation import digits_features as df
    from mutorbench.evaluation.image_fidelity import _Images

    path, name = df.ensure_classifier(digits_cnn_dir, seed=0), df.register_extractor()
    gen = dd.to_images(dd.marginal_samples(200, seed=1))
    ref = dd.to_images(dd.load_split("validation").codes)
    ours, _ = image_metrics(gen, ref, extractor=name, weights_path=path)
    theirs = torch_fidelity.calculate_metrics(
        input1=_Images(gen), input2=_Images(ref), cuda=False, fid=True, isc=True, prc=True,
        feature_extractor=name, feature_extractor_weights_path=str(path), isc_splits=10,
        prc_neighborhood=3, cache=False, save_cpu_ram=True, verbose=False)
    assert ours == {"fid": theirs["frechet_inception_distance"],
                    "inception_score": theirs["inception_score_mean"],
                    "precision": theirs["precision"], "recall": theirs["recall"]}
