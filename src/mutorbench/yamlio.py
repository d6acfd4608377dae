"""YAML reading with YAML 1.2 floats (``1e-3`` is a float, not a string) and ``--set`` overrides."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml


class _Loader(yaml.SafeLoader):
    def construct_mapping(self, node, deep=False):
        """A key written twice is an error (PyYAML keeps the last one silently)."""
        seen = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *base` merges, never repeats
                continue
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, str | int | float | bool) and key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


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


def load_yaml_file(path: str | Path, what: str = "config file") -> Any:
    from mutorbench.fsio import read_text

    path = Path(path)
    if not path.is_file() and not path.is_dir():
        raise ValueError(f"{what} not found: {path}")
    return load_yaml_text(read_text(path, what), where=str(path))


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
