"""Make a CPU torch importable beside PyPI's CUDA torchvision build (torch-fidelity needs it).

PyPI's torchvision 0.28 is a CUDA build. Under a CPU torch its C extension does not load, so its
``import`` fails with ``operator torchvision::nms does not exist`` (its fake-kernel registrations
need the op schemas), and since transformers and peft import torchvision when it is installed,
they fail too. We define the two schemas the Python side registers against, ``nms`` and ``qnms``,
and only when the extension did not load: a working torchvision (GPU users) defines them itself,
and defining them first would make its own registration fail. Nothing here runs a kernel: the
image metrics use torchvision's datasets and transforms, never its detection ops.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

_SCHEMAS = ("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
            "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
_library = None  # kept alive: the schemas live as long as this Library object


def ensure_torchvision_importable() -> None:
    """Define torchvision's nms/qnms schemas if its extension cannot load; idempotent, cheap."""
    global _library
    if _library is not None:
        return
    spec = importlib.util.find_spec("torchvision")
    if spec is None or spec.origin is None:
        return  # not installed: nothing to fix
    import torch

    if hasattr(torch.ops.torchvision, "nms"):
        return  # already there (the extension loaded, or another shim ran)
    extensions = sorted(Path(spec.origin).parent.glob("_C*.so")) + sorted(
        Path(spec.origin).parent.glob("_C*.pyd"))
    for ext in extensions:
        try:
            torch.ops.load_library(str(ext))
            return  # a working build: its own schemas are registered now
        except (OSError, RuntimeError):
            pass  # the CUDA build under a CPU torch: missing CUDA libraries
    _library = torch.library.Library("torchvision", "DEF")
    for schema in _SCHEMAS:
        _library.define(schema)
