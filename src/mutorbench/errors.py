"""One-line messages from pydantic validation errors (every loader reports the first problem)."""

from __future__ import annotations

from pydantic import ValidationError


def first_error(err: ValidationError) -> tuple[str, str]:
    """(dotted location or 'top level', message) of the first error."""
    first = err.errors()[0]
    return (".".join(str(p) for p in first["loc"]) or "top level",
            first["msg"].removeprefix("Value error, "))
