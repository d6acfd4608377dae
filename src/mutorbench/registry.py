"""Registries: a component's class registers itself with a decorator; nothing else lists ids.

``METHODS`` holds training objectives (``@METHODS.register``, by their ``Config.id``): the run
config's ``method`` section, build, parameter counts, LoRA support, help texts and errors read
it. ``TASKS`` holds datasets (by their ``name``): ``task.name`` resolves there, and its config
section is the task's own. ``EVALUATORS`` holds what scores a task (a task names its evaluator).
Metrics (metrics.py) and model families (models/adapters.py) have registries of the same kind.
A new method, task or evaluator is one new file (README, "Extending the suite").
"""

from __future__ import annotations

from collections.abc import Callable, Iterator


class Registry:
    def __init__(self, kind: str, key: Callable[[type], str]):
        self.kind, self._key = kind, key
        self._items: dict[str, type] = {}
        self.version = 0  # bumped on every change (the run config rebuilds its method union)

    def register(self, cls: type) -> type:
        """Class decorator."""
        name = self._key(cls)
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


def _name_of(selected_by: str) -> Callable[[type], str]:
    def name_of(cls: type) -> str:
        name = getattr(cls, "name", None)
        if not isinstance(name, str) or not name:
            raise ValueError(f"{cls.__qualname__} needs a `name`: the {selected_by} that selects it")
        return name
    return name_of


METHODS = Registry("method", _id_of)
TASKS = Registry("task", _name_of("task.name"))
EVALUATORS = Registry("evaluator", _name_of("task's `evaluator`"))
