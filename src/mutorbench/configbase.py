"""The base of every config section (run, method, task ...): strict, frozen, finite.

Unknown keys and wrong types are errors, and so are NaN and infinity (`budget.amount=.inf` is an
error, not an endless run). Components define their own sections on it, beside their code.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

PositiveInt = Annotated[int, Field(ge=1)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False)
