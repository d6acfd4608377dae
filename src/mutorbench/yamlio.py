"""YAML reading with YAML 1.2 floats (``1e-3`` is a float, not a string) and ``--set`` overrides."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml


class _Loader(yaml.SafeLoader):
    pass


# PyYAML follows YAML 1.1, where '1e-3' (no dot) is a string; researchers write LRs that way.
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"""^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$
                  |^[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?$
                  |^[-+]?\.[0-9_]+(?:[eE][-+]?[0-9]+)?$
                  |^[-+]?\.(?:inf|Inf|INF)$|^\.(?:nan|NaN|NAN)$""", re.X),
    list("-+0123456789."),
)


def load_yaml_text(text: str, *, where: str = "<text>") -> Any:
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as err:
        raise ValueError(f"{where}: malformed YAML: {err}".replace("\n", " ")) from None


def load_yaml_file(path: str | Path) -> Any:
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"config file not found: {path}")
    return load_yaml_text(path.read_text(), where=str(path))


def apply_override(tree: dict, assignment: str) -> None:
    """Apply ``a.b.c=value`` in place; the value is parsed as a YAML scalar (or flow collection)."""
    if "=" not in assignment:
        raise ValueError(f"--set expects key=value, got {assignment!r}")
    key, raw = assignment.split("=", 1)
    parts = key.strip().split(".")
    if not all(parts):
        raise ValueError(f"--set: malformed key {key!r}")
    node = tree
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ValueError(f"--set {key}: {part!r} is not a section")
        node = child
    node[parts[-1]] = load_yaml_text(raw, where=f"--set {key}")
