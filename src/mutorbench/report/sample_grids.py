"""Sampled images per arm: the image tables' figure (reports/TABLE-samples.png).

FID alone cannot show what a model draws. For every row of an image table, the images its run
sampled for the report at the last column's step (the first seed that finished): one line of
samples per class, as LlamaGen's sample sheets. Read from the decoded preview the image evaluator
filed beside its log (generations/step*-SPLIT.samples.npz); nothing is sampled or decoded again.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from mutorbench.results import generations_path, load_result, preview_path, result_path_of
from mutorbench.spec import expand


def grid_sources(spec, scale: str, results_root) -> list[dict]:
    """Per row: the cell of the last column it has with a finished result (lowest seed), and
    its logged samples at the reported step."""
    cells = [c for c in expand(spec, scale, output_root=str(results_root)) if c.status == "run"]
    order = {c.id: k for k, c in enumerate(spec.columns)}
    out = []
    for row in spec.rows:
        mine = sorted((c for c in cells if c.row == row.id),
                      key=lambda c: (-order[c.column], c.seed))
        for cell in mine:
            path = result_path_of(cell.config)
            if not path.exists():
                continue
            cp = load_result(path).metrics.selected.checkpoint
            log = generations_path(path.parent, cp.step, cp.split) if cp else None
            if log is not None and log.exists() and preview_path(log).exists():
                out.append({"row": row.id, "column": cell.column, "seed": cell.seed,
                            "step": cp.step, "log": log})
                break
    return out


def read_samples(log: Path) -> tuple[dict, np.ndarray, np.ndarray]:
    """(settings, labels [N], images [N, C, H, W]) of one image evaluation's preview."""
    head = json.loads(log.read_text().split("\n", 1)[0])
    with np.load(preview_path(log)) as preview:
        return head["settings"], preview["labels"], preview["images"]


def mosaic(images: np.ndarray, labels: np.ndarray, classes: list[int], per_class: int):
    """[classes x per_class] images [C, H, W] tiled into one [C, rows*H, cols*W] array, a one-pixel
    gap between tiles (missing samples stay blank)."""
    c, h, w = images.shape[1:]
    out = np.full((c, len(classes) * (h + 1), per_class * (w + 1)), 255, dtype=np.uint8)
    for i, cls in enumerate(classes):
        for j, k in enumerate(np.flatnonzero(labels == cls)[:per_class]):
            out[:, i * (h + 1):i * (h + 1) + h, j * (w + 1):j * (w + 1) + w] = images[k]
    return out


def plot_sample_grids(spec, scale: str, results_root, path: Path, *, per_class: int = 8,
                      max_classes: int = 10) -> list[dict]:
    """Write the figure; returns what each panel shows (empty: nothing finished, no figure)."""
    sources = grid_sources(spec, scale, results_root)
    if not sources:
        return []
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(sources), figsize=(3.2 * len(sources), 3.6), squeeze=False)
    for ax, src in zip(axes[0], sources):
        settings, labels, images = read_samples(src["log"])
        classes = sorted(set(labels.tolist()))[:max_classes]
        tiles = mosaic(images, labels, classes, per_class)
        ax.imshow(tiles[0] if tiles.shape[0] == 1 else tiles.transpose(1, 2, 0),
                  cmap="gray" if tiles.shape[0] == 1 else None, vmin=0, vmax=255)
        ax.set_title(f"{src['row']}: step {src['step']}, seed {src['seed']}", fontsize=9)
        ax.set_yticks([(i + 0.5) * (tiles.shape[1] / len(classes)) for i in range(len(classes))],
                      [str(c) for c in classes], fontsize=7)
        ax.set_xticks([])
        ax.set_ylabel("class")
        src["cfg_scale"] = settings.get("cfg_scale")
    fig.suptitle(f"{spec.table}: sampled images ({scale}), one line per class, guidance "
                 f"{sources[0].get('cfg_scale')}")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return sources
