"""`mutor-bench images tokenize`: an ImageFolder (ImageNet's train folder) -> VQ codes in
LlamaGen's layout, which the ``imagenet_codes`` task reads.

As LlamaGen's ``extract_codes_c2i.py`` (read as a reference): images in torchvision's ImageFolder
order (classes sorted, files sorted, label = class index), ADM's centre crop to ``image_size``,
pixels to [-1, 1], and the paper's "two crops" = the crop and its horizontal flip, encoded by the
VQ. Image i is written as ``{dataset}{image_size}_codes/{i}.npy`` (int64, shape (1, 2, grid²))
and ``{dataset}{image_size}_labels/{i}.npy`` (int64, shape (1,)), so codes extracted by LlamaGen's
own script load the same way. Images are encoded in batches (LlamaGen: one at a time); each file
is written whole (temporary name, then renamed). ``tokenize.json`` beside them records the VQ
file's hash and the folder: a rerun continues where an interrupted one stopped, and a rerun with
another VQ or folder is refused instead of mixing codes.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import torch

MANIFEST = "tokenize.json"


def center_crop_arr(pil_image, image_size: int):
    """ADM's centre crop (guided-diffusion ``image_datasets.py``): halve with a box filter while
    the short side is at least twice the target, resize bicubically so that the short side is
    ``image_size``, then cut the centre square."""
    from PIL import Image

    while min(*pil_image.size) >= 2 * image_size:
        pil_image = pil_image.resize(tuple(x // 2 for x in pil_image.size), resample=Image.BOX)
    scale = image_size / min(*pil_image.size)
    pil_image = pil_image.resize(tuple(round(x * scale) for x in pil_image.size),
                                 resample=Image.BICUBIC)
    arr = np.array(pil_image)
    top, left = (arr.shape[0] - image_size) // 2, (arr.shape[1] - image_size) // 2
    return Image.fromarray(arr[top:top + image_size, left:left + image_size])


def two_views(pil_image, image_size: int) -> torch.Tensor:
    """[2, 3, S, S] floats in [-1, 1]: the centre crop and its horizontal flip."""
    arr = np.array(center_crop_arr(pil_image.convert("RGB"), image_size))
    # torchvision's ToTensor then Normalize(0.5, 0.5), in their order of operations
    x = torch.from_numpy(arr).permute(2, 0, 1).float().div(255).sub(0.5).div(0.5)
    return torch.stack([x, x.flip(-1)])


def _save(path: Path, array: np.ndarray) -> None:
    tmp = path.with_name(path.stem + ".tmp.npy")
    np.save(tmp, array)
    os.replace(tmp, path)


def _manifest(out: Path, record: dict) -> None:
    """Refuse to mix codes of another VQ, folder or size into ``out``; record them otherwise."""
    path = out / MANIFEST
    if path.exists():
        before = json.loads(path.read_text())
        differ = sorted(k for k in record if before.get(k) != record[k])
        if differ:
            raise ValueError(f"{out} holds codes made with other settings ({', '.join(differ)} "
                             "differ): choose another --out")
        return
    from mutorbench.fsio import atomic_write_text

    atomic_write_text(path, json.dumps(record, indent=2) + "\n")


def tokenize_folder(images: str | Path, out: str | Path, *, vq_checkpoint: str | Path,
                    dataset: str = "imagenet", image_size: int = 256, batch_size: int = 32,
                    limit: int | None = None, progress: bool = True) -> int:
    """Encode every image of the ImageFolder ``images`` (the first ``limit``); returns how many
    were written in this call (files already there, from an interrupted run, are kept)."""
    from torchvision.datasets import ImageFolder
    from tqdm.auto import tqdm

    from mutorbench.fsio import file_sha256
    from mutorbench.models.vq16 import load_vq_checkpoint

    if not Path(images).is_dir():
        raise ValueError(f"--images {images} is not a folder (an ImageFolder: one subfolder of "
                         "images per class)")
    vq = load_vq_checkpoint(vq_checkpoint)
    if image_size % vq.config.downsample:
        raise ValueError(f"--image-size {image_size} is not a multiple of the VQ's "
                         f"downsampling {vq.config.downsample}")
    try:
        folder = ImageFolder(str(images))
    except (FileNotFoundError, RuntimeError) as err:
        raise ValueError(f"--images {images}: {err}") from None
    n = len(folder) if limit is None else min(limit, len(folder))
    out = Path(out)
    codes_dir, labels_dir = (out / f"{dataset}{image_size}_{kind}" for kind in ("codes", "labels"))
    codes_dir.mkdir(parents=True, exist_ok=True)
    labels_dir.mkdir(parents=True, exist_ok=True)
    _manifest(out, {"images": str(Path(images).resolve()), "classes": len(folder.classes),
                    "vq_sha256": file_sha256(vq_checkpoint), "dataset": dataset,
                    "image_size": image_size, "views": "centre crop (ADM), horizontal flip"})
    todo = [i for i in range(n) if not ((codes_dir / f"{i}.npy").exists()
                                        and (labels_dir / f"{i}.npy").exists())]
    grid = image_size // vq.config.downsample
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    vq.to(device)
    start = time.perf_counter()
    bar = tqdm(total=len(todo), unit="img", disable=not progress, desc="tokenize")
    for s in range(0, len(todo), batch_size):
        chunk = todo[s:s + batch_size]
        loaded = [folder[i] for i in chunk]  # (PIL image, label)
        x = torch.cat([two_views(img, image_size) for img, _ in loaded]).to(device)
        codes = vq.encode_codes(x).reshape(len(chunk), 2, grid * grid).cpu().numpy()
        for k, (i, (_, label)) in enumerate(zip(chunk, loaded)):
            _save(codes_dir / f"{i}.npy", codes[k:k + 1].astype(np.int64))
            _save(labels_dir / f"{i}.npy", np.array([label], dtype=np.int64))
        bar.update(len(chunk))
    bar.close()
    seconds = time.perf_counter() - start
    rate = f", {len(todo) / seconds:.1f} images/s" if todo else ""
    print(f"tokenized {len(todo)} images ({n - len(todo)} already there) of {n} into {out}: "
          f"{grid}x{grid} codes, 2 views each{rate}")
    return len(todo)
