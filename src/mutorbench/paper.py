"""The paper's reported numbers (`baselines/paper/*.yaml`), loaded and validated.

These files are data transcribed from the paper; they are never mixed with our results — the
reporter shows them in their own labelled columns.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from mutorbench.errors import first_error
from mutorbench.yamlio import load_yaml_file

DEFAULT_DIR = Path("baselines") / "paper"


class Column(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str


class Row(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str
    values: dict[str, float | int | None]


class PaperTable(BaseModel):
    model_config = ConfigDict(extra="forbid")
    table: str
    title: str
    source: str
    metric: str | list[str]
    unit: str | dict[str, str] | None = None
    higher_is_better: bool | dict[str, bool] | None = None
    aggregation: dict[str, str] | None = None
    qualitative: bool = False
    columns: list[Column]
    rows: list[Row]
    notes: list[str] = []
    inconsistencies: list[dict[str, Any]] = []

    @model_validator(mode="after")
    def _consistent(self):
        cols = [c.id for c in self.columns]
        if len(set(cols)) != len(cols):
            raise ValueError("duplicate column ids")
        rows = [r.id for r in self.rows]
        if len(set(rows)) != len(rows):
            raise ValueError("duplicate row ids")
        for r in self.rows:
            if set(r.values) != set(cols):
                raise ValueError(f"row {r.id}: values must name exactly the columns {cols}")
        return self

    def value(self, row: str, column: str) -> float | int | None:
        for r in self.rows:
            if r.id == row:
                return r.values[column]
        raise KeyError(f"{self.table}: no row {row!r}")


def table_path(name: str, root: str | Path = DEFAULT_DIR) -> Path:
    """``table2``/``table02``/``fig4`` -> its file under ``root``."""
    root = Path(root)
    if name.startswith("table") and name[5:].isdigit():
        name = f"table{int(name[5:]):02d}"
    return root / f"{name}.yaml"


def load_paper_table(name: str, root: str | Path = DEFAULT_DIR) -> PaperTable:
    path = table_path(name, root)
    if not path.is_file():
        known = [p.stem for p in table_files(root)]
        raise ValueError(f"no paper numbers for {name!r} at {path}; known: {', '.join(known)}")
    try:
        return PaperTable.model_validate(load_yaml_file(path))
    except ValidationError as err:
        where, msg = first_error(err)
        raise ValueError(f"{path}: invalid at {where}: {msg}") from None


def table_files(root: str | Path = DEFAULT_DIR) -> list[Path]:
    """The paper's tables and figures (``table*.yaml``, ``fig*.yaml``), not claims.yaml."""
    return sorted(p for p in Path(root).glob("*.yaml") if p.stem.startswith(("table", "fig")))


def load_all(root: str | Path = DEFAULT_DIR) -> dict[str, PaperTable]:
    return {p.stem: load_paper_table(p.stem, root) for p in table_files(root)}
