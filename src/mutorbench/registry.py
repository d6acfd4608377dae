"""Registries: a component's class registers itself with a decorator; nothing else lists ids.

``METHODS`` holds training objectives (``@METHODS.register``). The run config's ``method``
section, build, parameter counts, LoRA support, help texts and error messages all read it, so a
new method is one new file (see README, "Adding a method").
"""

from __future__ import annotations

from collections.abc import Iterator


class Registry:
    def __init__(self, kind: str):
        self.kind = kind
        self._items: dict[str, type] = {}
        self.version = 0  # bumped on every registration (the config rebuilds its union)

    def register(self, cls: type) -> type:
        """Class decorator; the id is the class's ``id`` default."""
        name = _id_of(cls)
        if name in self._items and self._items[name] is not cls:
            raise ValueError(f"{self.kind} {name!r} is registered twice "
                             f"({self._items[name].__qualname__} and {cls.__qualname__})")
        self._items[name] = cls
        self.version += 1
        return cls

    def unregister(self, name: str) -> None:
        """Remove a component (tests that register a toy one clean up after themselves)."""
        self._items.pop(name, None)
        self.version += 1

    def get(self, name: str) -> type:
        if name not in self._items:
            raise ValueError(f"unknown {self.kind} {name!r}; available: {', '.join(self.names())}")
        return self._items[name]

    def names(self) -> list[str]:
        return list(self._items)

    def items(self) -> Iterator[tuple[str, type]]:
        return iter(list(self._items.items()))

    def __contains__(self, name: str) -> bool:
        return name in self._items


def _id_of(cls: type) -> str:
    config = getattr(cls, "Config", None)
    fields = getattr(config, "model_fields", {})
    if "id" not in fields or not isinstance(fields["id"].default, str):
        raise ValueError(f"{cls.__qualname__}.Config needs an `id: Literal[...]` field with a "
                         "default: the id the config selects it by")
    return fields["id"].default


METHODS = Registry("method")
