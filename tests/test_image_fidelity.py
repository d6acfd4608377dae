"""Tiny-scale image metrics: the UCI digits as code grids (a fixed, stratified split), the seeded
digits classifier as torch-fidelity's feature extractor, and FID / IS / precision / recall that
order real data, held-out data and a trivial per-pixel-marginal model as they must. The library's
FID is checked against the formula computed independently on the same features."""

import importlib.util
import subprocess
import sys

import numpy as np
import pytest
import torch

pytest.importorskip("sklearn")
pytest.importorskip("torch_fidelity")

from mutorbench import digits_data as dd  # noqa: E402
from mutorbench.evaluation import digits_features as df  # noqa: E402
from mutorbench.evaluation.image_fidelity import frechet_distance, image_metrics  # noqa: E402


@pytest.fixture(scope="module")
def classifier(digits_cnn_dir):
    return df.ensure_classifier(digits_cnn_dir, seed=0), df.register_extractor()


def images(split):
    return dd.to_images(dd.load_split(split).codes)


def test_the_split_is_fixed_disjoint_and_stratified():
    splits = {s: dd.load_split(s) for s in dd.SPLITS}
    assert [len(splits[s].labels) for s in dd.SPLITS] == [1297, 200, 300]
    idx = [set(splits[s].indices.tolist()) for s in dd.SPLITS]
    assert not (idx[0] & idx[1] or idx[0] & idx[2] or idx[1] & idx[2])
    assert len(idx[0] | idx[1] | idx[2]) == 1797
    assert np.bincount(splits["validation"].labels).tolist() == [20] * 10
    assert np.bincount(splits["test"].labels).tolist() == [30] * 10
    assert splits["train"].codes.shape == (1297, 64) and splits["train"].codes.max() == 16
    # pinned: a changed dataset or split rule must not pass silently
    assert dd.split_hash("test")[:12] == "69bc27c33e20"


def test_grey_levels_map_to_uint8_pixels_and_bad_grids_are_refused():
    pixels = dd.to_images(np.array([[0, 8, 16] + [0] * 61]))
    assert pixels.shape == (1, 1, 8, 8) and pixels.dtype == np.uint8
    assert pixels[0, 0, 0, :3].tolist() == [0, 128, 255]
    with pytest.raises(ValueError, match="grey levels 0..16"):
        dd.to_images(np.full((1, 64), 17))
    with pytest.raises(ValueError, match=r"\[N, 64\]"):
        dd.to_images(np.zeros((1, 63), dtype=np.int64))
    with pytest.raises(ValueError, match="unknown split"):
        dd.load_split("dev")


def test_marginal_samples_follow_each_pixels_training_marginal():
    train = dd.load_split("train").codes
    samples = dd.marginal_samples(20000, seed=3)
    assert np.array_equal(samples, dd.marginal_samples(20000, seed=3))
    assert np.abs(samples.mean(0) - train.mean(0)).max() < 0.15  # levels 0..16
    # pixels are drawn independently: the strong neighbour correlation of real digits is gone
    real = np.corrcoef(train[:, 33], train[:, 34])[0, 1]  # row 4, columns 1 and 2: 0.62
    fake = np.corrcoef(samples[:, 33], samples[:, 34])[0, 1]
    assert real > 0.5 and abs(fake) < 0.05


def test_the_classifier_is_accurate_cached_and_seeded(classifier, tmp_path):
    path, _ = classifier
    model, report = df.load_classifier(path)
    # measured: 97.5 / 96.0 (torch 2.13, CPU)
    assert report["accuracy_validation"] >= 95.0 and report["accuracy_test"] >= 94.0
    assert df.accuracy(model, "test") == report["accuracy_test"]
    before = path.stat().st_mtime_ns
    assert df.ensure_classifier(path.parent, seed=0) == path and path.stat().st_mtime_ns == before
    assert df.classifier_key(0) != df.classifier_key(1)
    quick = dict(df.RECIPE, epochs=1)
    a, _ = df.train_classifier(5, quick)
    b, _ = df.train_classifier(5, quick)
    c, _ = df.train_classifier(6, quick)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(),
                                                 b.state_dict().values()))
    assert not torch.equal(a.head.weight, c.head.weight)


def test_the_librarys_fid_equals_the_formula_on_the_same_features(classifier):
    path, name = classifier
    model = df.load_classifier(path)[0]
    gen, ref = images("validation"), images("test")
    with torch.no_grad():
        f_gen = model(torch.as_tensor(gen).float() / 255)[0].numpy()
        f_ref = model(torch.as_tensor(ref).float() / 255)[0].numpy()
    metrics, _ = image_metrics(gen, ref, extractor=name, weights_path=path)
    assert metrics["fid"] == pytest.approx(frechet_distance(f_gen, f_ref), rel=1e-3)


def test_metrics_order_real_held_out_and_trivial_models(classifier):
    path, name = classifier
    ref = images("test")
    same, settings = image_metrics(ref, ref, extractor=name, weights_path=path)
    held_out, _ = image_metrics(images("validation"), ref, extractor=name, weights_path=path)
    marginal, _ = image_metrics(dd.to_images(dd.marginal_samples(300, seed=0)), ref,
                                extractor=name, weights_path=path)
    assert abs(same["fid"]) < 1e-2 and same["precision"] == same["recall"] == 1.0
    assert held_out["fid"] < 0.2 * marginal["fid"]
    assert held_out["inception_score"] > marginal["inception_score"] + 2.0
    assert held_out["inception_score"] <= 10.0 + 1e-6  # at most the number of classes
    # measured: FID 8.2 vs 157, IS 7.6 vs 3.4, precision 0.91 vs 0.68, recall 0.93 vs 0.38
    assert held_out["precision"] > marginal["precision"] + 0.15
    assert held_out["recall"] > marginal["recall"] + 0.3
    assert settings == {"feature_extractor": name, "weights_sha256": settings["weights_sha256"],
                        "num_generated": 300, "num_reference": 300, "isc_splits": 10,
                        "prc_neighborhood": 3, "library": settings["library"]}
    assert len(settings["weights_sha256"]) == 64


def test_bad_image_sets_are_refused(classifier):
    path, name = classifier
    ref = images("test")
    with pytest.raises(ValueError, match="must be uint8"):
        image_metrics(ref.astype(np.float32), ref, extractor=name, weights_path=path)
    with pytest.raises(ValueError, match="too few"):
        image_metrics(ref[:5], ref, extractor=name, weights_path=path)


def test_torchvision_and_transformers_import_after_the_package():
    if importlib.util.find_spec("torchvision") is None:  # importing it is what is tested
        pytest.skip("torchvision is not installed")
    code = ("import mutorbench, torchvision, transformers, peft\n"
            "from transformers import AutoModelForCausalLM\n"
            "import torch_fidelity\nprint('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]
