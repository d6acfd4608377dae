"""mutor-bench: a reproducibility benchmark suite for "Multi-Token Prediction Needs Registers"."""

__version__ = "0.1.0"
