"""Reading released checkpoint files safely.

``torch.load(weights_only=True)`` unpickles tensors and plain containers only, never arbitrary
objects, so a downloaded file cannot run code. LlamaGen's training scripts also store their
``argparse.Namespace`` beside the weights (``{"model": ..., "args": args}``); that one class is
allowed too, so their files load as saved.
"""

from __future__ import annotations

import argparse

import torch


def load_weights_file(path) -> object:
    with torch.serialization.safe_globals([argparse.Namespace]):
        return torch.load(path, map_location="cpu", weights_only=True)
