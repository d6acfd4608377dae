"""mutor-bench: a reproducibility benchmark suite for "Multi-Token Prediction Needs Registers"."""

from mutorbench.compat_torchvision import ensure_torchvision_importable

# Before anything imports transformers (which imports torchvision when it is installed).
ensure_torchvision_importable()

__version__ = "0.1.0"
