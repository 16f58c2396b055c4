"""The canonical dataset format: five tables, read from CSV or Parquet.

| table          | required columns                 | optional                                   |
|----------------|----------------------------------|--------------------------------------------|
| `items`        | `item_id`, `title`               | `description`, any attribute columns       |
| `entities`     | `entity_id`, `name`, `type`      |                                            |
| `triples`      | `head`, `relation`, `tail`       | `weight`                                   |
| `users`        | `user_id`                        | attribute columns (age, gender, ...)       |
| `interactions` | `user_id`, `item_id`             | `timestamp`, `rating`, `weight`, `kind`, ... |

Only `items` is mandatory. Ids are strings. Entity `name` may be empty for
datasets whose entities are opaque ids (no fake names are made up).
`timestamp` is unix seconds (int/float) or an ISO-8601 string.

A `Dataset` carries the tables plus, for each table, where its rows came from
(`sources`), so validation errors can name the file and row a user must fix.
Adapters (`kg.adapters`) build a `Dataset` from other public formats.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

TABLES: tuple[str, ...] = ("items", "entities", "triples", "users", "interactions")

REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "items": ("item_id", "title"),
    "entities": ("entity_id", "name", "type"),
    "triples": ("head", "relation", "tail"),
    "users": ("user_id",),
    "interactions": ("user_id", "item_id"),
}

# Columns with a fixed meaning and type; everything else is an attribute/context column.
ID_COLUMNS: dict[str, tuple[str, ...]] = {
    "items": ("item_id",),
    "entities": ("entity_id",),
    "triples": ("head", "tail"),
    "users": ("user_id",),
    "interactions": ("user_id", "item_id"),
}
NUMERIC_COLUMNS: dict[str, tuple[str, ...]] = {
    "triples": ("weight",),
    "interactions": ("rating", "weight"),
}
SUFFIXES: tuple[str, ...] = (".csv", ".parquet")


@dataclass
class Dataset:
    """Canonical tables in memory. `sources[table]` names the file each table came from."""

    items: pd.DataFrame
    entities: pd.DataFrame | None = None
    triples: pd.DataFrame | None = None
    users: pd.DataFrame | None = None
    interactions: pd.DataFrame | None = None
    sources: dict[str, str] = field(default_factory=dict)
    # Row numbers reported in errors: CSV row n is file line n + 1 (header is line 1).
    header_rows: dict[str, int] = field(default_factory=dict)

    def table(self, name: str) -> pd.DataFrame | None:
        return getattr(self, name)

    def tables(self) -> dict[str, pd.DataFrame]:
        return {name: df for name in TABLES if (df := self.table(name)) is not None}

    def write(self, out_dir: Path, fmt: str = "csv") -> list[Path]:
        """Write every present table as `<table>.csv` or `<table>.parquet`."""
        out_dir.mkdir(parents=True, exist_ok=True)
        written = []
        for name, df in self.tables().items():
            path = out_dir / f"{name}.{fmt}"
            if fmt == "csv":
                df.to_csv(path, index=False)
            elif fmt == "parquet":
                df.to_parquet(path, index=False)
            else:
                raise ValueError(f"unknown format {fmt!r}: expected 'csv' or 'parquet'")
            written.append(path)
        return written
