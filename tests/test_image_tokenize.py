"""`mutor-bench images tokenize`: ADM's centre crop on a literal image, the crop and its flip
encoded by the VQ, files in LlamaGen's code layout that the imagenet_codes task reads, a resumed
run, and a refusal to mix codes of another VQ into a folder."""

import numpy as np
import pytest
import torch
from PIL import Image

from mutorbench.cli import main
from mutorbench.image_tokenize import center_crop_arr, two_views
from mutorbench.models.vq16 import TINY_VQ, VQModel, load_vq_checkpoint
from mutorbench.tasks import build_task
from mutorbench.train.config import load_config


def test_adm_centre_crop_on_a_literal_image():
    # 8 wide, 4 high; every 2 x 2 block averages to 10 * column block + 40 * row block
    arr = np.array([[10 * (c // 2) + 40 * (r // 2) + (2 if (r + c) % 2 else -2) + 10
                     for c in range(8)] for r in range(4)], dtype=np.uint8)
    out = np.array(center_crop_arr(Image.fromarray(arr), 2))
    # short side 4 >= 2 x 2: one box halving to 4 x 2 (no resize left), centre columns 1..2
    assert out.tolist() == [[20, 30], [60, 70]]
    # a short side under twice the target: bicubic resize to it, then the centre square
    wide = center_crop_arr(Image.fromarray(np.full((5, 9, 3), 77, np.uint8)), 4)
    assert wide.size == (4, 4) and np.array(wide).tolist() == np.full((4, 4, 3), 77).tolist()


def test_two_views_are_the_crop_and_its_flip_in_minus_one_to_one():
    arr = np.zeros((4, 4, 3), np.uint8)
    arr[:, 0] = 255
    views = two_views(Image.fromarray(arr), 4)
    assert views.shape == (2, 3, 4, 4)
    assert views[0, :, :, 0].eq(1.0).all() and views[0, :, :, 1:].eq(-1.0).all()
    assert torch.equal(views[1], views[0].flip(-1))


def write_folder(root, seed=0):
    rng = np.random.default_rng(seed)
    sizes = [(20, 24), (33, 17), (16, 16)]
    for label in ("cat", "dog"):  # ImageFolder sorts classes: cat = 0, dog = 1
        (root / label).mkdir(parents=True)
        for k, (w, h) in enumerate(sizes):
            pixels = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / label / f"img{k}.png")


def write_vq(path, seed):
    torch.manual_seed(seed)
    torch.save({"model": VQModel(TINY_VQ).state_dict()}, path)
    return path


def test_a_folder_is_tokenized_in_llamagens_layout_and_read_by_the_task(tmp_path, capsys):
    write_folder(tmp_path / "images")
    vq_path = write_vq(tmp_path / "vq.pt", seed=0)
    args = ["images", "tokenize", "--images", str(tmp_path / "images"), "--out",
            str(tmp_path / "codes"), "--vq", str(vq_path), "--image-size", "16", "--no-progress"]
    assert main(args) == 0
    codes_dir, labels_dir = (tmp_path / "codes" / f"imagenet16_{kind}"
                             for kind in ("codes", "labels"))
    assert sorted(p.name for p in codes_dir.iterdir()) == [f"{i}.npy" for i in range(6)]
    vq = load_vq_checkpoint(vq_path)
    for i, (label, name) in enumerate([(c, f"img{k}.png") for c in ("cat", "dog")
                                       for k in range(3)]):
        codes, y = np.load(codes_dir / f"{i}.npy"), np.load(labels_dir / f"{i}.npy")
        assert codes.shape == (1, 2, 64) and codes.dtype == np.int64  # grid 16 / 2 = 8
        assert y.tolist() == [0 if label == "cat" else 1]
        views = two_views(Image.open(tmp_path / "images" / label / name), 16)
        assert codes[0].tolist() == vq.encode_codes(views).reshape(2, 64).tolist()
    # the task reads them: class token + code grid, two augmentations per image
    cfg = load_config(None, ["task.name=imagenet_codes", f"task.local_path={tmp_path / 'codes'}",
                             "task.image_size=16", "task.downsample=2", "task.codebook_size=64",
                             "task.num_classes=2", "model.source=llamagen"])
    task = build_task(cfg.task)
    assert task.grids("train").codes.shape == (6, 2, 64)
    assert task.grids("train").labels.tolist() == [0, 0, 0, 1, 1, 1]
    assert "6 images (0 already there)" in capsys.readouterr().out
    # an interrupted run resumes: only the missing file is encoded again
    (codes_dir / "4.npy").unlink()
    assert main(args) == 0
    assert "tokenized 1 images (5 already there)" in capsys.readouterr().out
    assert np.load(codes_dir / "4.npy")[0].tolist() == task.grids("train").codes[4].tolist()


def test_codes_of_another_vq_are_never_mixed_into_a_folder(tmp_path, capsys):
    write_folder(tmp_path / "images")
    base = ["images", "tokenize", "--images", str(tmp_path / "images"), "--out",
            str(tmp_path / "codes"), "--image-size", "16", "--no-progress"]
    assert main([*base, "--vq", str(write_vq(tmp_path / "a.pt", seed=0))]) == 0
    capsys.readouterr()
    assert main([*base, "--vq", str(write_vq(tmp_path / "b.pt", seed=1))]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"mutor-bench: error: {tmp_path / 'codes'} holds codes made with other "
                   "settings (vq_sha256 differ): choose another --out"]


@pytest.mark.parametrize("args, message", [
    (["--image-size", "15"], "--image-size 15 is not a multiple of the VQ's downsampling 2"),
    (["--vq", "absent.pt"], "VQ weights absent.pt not found"),
])
def test_bad_tokenize_arguments_are_one_line(tmp_path, capsys, args, message):
    write_folder(tmp_path / "images")
    vq = ["--vq", str(write_vq(tmp_path / "vq.pt", seed=0))] if "--vq" not in args else []
    rc = main(["images", "tokenize", "--images", str(tmp_path / "images"), "--out",
               str(tmp_path / "codes"), *vq, *args])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and message in err[0]
