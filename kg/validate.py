"""Validate a canonical `Dataset` and turn it into write-ready rows, before any write.

Every problem becomes a `DatasetError` naming the file, the row (1-based, the
header is row 1), the column, what was expected and what was found. All
problems are collected and raised together as `ValidationFailed`, so a user
fixes a file in one pass, and nothing is written unless everything is valid.

References may point into the graph: a second dataset can add interactions for
items imported earlier. `known_in_graph` answers which ids the graph already has.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from tailgraph.kg.cypher_files import SAFE_IDENTIFIER
from tailgraph.kg.dataset import REQUIRED_COLUMNS, Dataset
from tailgraph.kg.errors import DatasetError, ValidationFailed

MAX_REPORTED = 50
RESERVED_RELATIONS = {"INTERACTED"}
# Columns with a fixed meaning per table; the rest are attribute/context columns.
FIXED_COLUMNS: dict[str, set[str]] = {
    "items": {"item_id", "title", "description"},
    "entities": {"entity_id", "name", "type"},
    "triples": {"head", "relation", "tail", "weight"},
    "users": {"user_id"},
    "interactions": {"user_id", "item_id", "timestamp", "rating", "weight", "kind"},
}
# Attribute names that would overwrite a fixed graph property.
RESERVED_PROPERTIES = {"id", "key", "ts", "title", "description", "name", "type"}

KnownInGraph = Callable[[str, list[str]], set[str]]
"""(label, ids) -> the subset of ids present in the graph under that label."""

TripleGroup = tuple[str, str, str]
"""(head label, relation, tail label)"""


@dataclass
class PreparedImport:
    """Rows ready for the import statements, in write order."""

    entities: list[dict[str, Any]] = field(default_factory=list)
    items: list[dict[str, Any]] = field(default_factory=list)
    users: list[dict[str, Any]] = field(default_factory=list)
    triples: dict[TripleGroup, list[dict[str, Any]]] = field(default_factory=dict)
    interactions: list[dict[str, Any]] = field(default_factory=list)

    def phases(self) -> list[tuple[str, dict[str, str], list[dict[str, Any]]]]:
        """(statement name, identifiers, rows) in dependency order."""
        out: list[tuple[str, dict[str, str], list[dict[str, Any]]]] = [
            ("import_entities", {}, self.entities),
            ("import_items", {}, self.items),
            ("import_users", {}, self.users),
        ]
        for (head, relation, tail), rows in sorted(self.triples.items()):
            out.append(("import_triples", {"head": head, "relation": relation, "tail": tail}, rows))
        out.append(("import_interactions", {}, self.interactions))
        return [phase for phase in out if phase[2]]

    def counts(self) -> dict[str, int]:
        return {
            "entities": len(self.entities),
            "items": len(self.items),
            "users": len(self.users),
            "triples": sum(len(rows) for rows in self.triples.values()),
            "interactions": len(self.interactions),
        }

    def fingerprint(self) -> str:
        """Content hash of the rows, so an interrupted import resumes only the same data."""
        digest = hashlib.sha256()
        for name, identifiers, rows in self.phases():
            digest.update(f"{name}{sorted(identifiers.items())}{len(rows)}".encode())
            frame = pd.DataFrame(rows).astype(str)
            digest.update(pd.util.hash_pandas_object(frame, index=False).values.tobytes())
        return digest.hexdigest()[:24]


def interaction_key(user_id: str, item_id: str, ts: float | None, kind: str | None) -> str:
    """The identity of one interaction (MERGE key): the same user, item, time and kind."""
    raw = f"{user_id}\x1f{item_id}\x1f{ts}\x1f{kind}".encode()
    return hashlib.sha1(raw, usedforsecurity=False).hexdigest()[:20]


class _Collector:
    def __init__(self) -> None:
        self.errors: list[DatasetError] = []
        self.total = 0

    def add(self, error: DatasetError) -> None:
        self.total += 1
        if len(self.errors) < MAX_REPORTED:
            self.errors.append(error)

    def raise_if_any(self) -> None:
        if self.total:
            raise ValidationFailed(self.errors, self.total)


def _row_numbers(dataset: Dataset, table: str, index: Iterable[int]) -> list[int]:
    # Data row n (0-based) is file row n + 1 + header rows (CSV: header is row 1).
    offset = 1 + dataset.header_rows.get(table, 1)
    return [int(i) + offset for i in index]


def _file(dataset: Dataset, table: str) -> str:
    return dataset.sources.get(table, f"{table} table")


def _clean_ids(series: pd.Series) -> pd.Series:
    """Ids as stripped strings; missing ids become ''."""
    return series.astype("string").fillna("").str.strip().astype(object)


def _python_value(value: Any) -> Any:
    """A numpy/pandas scalar as a plain Python value the drivers accept; NaN/NA -> None."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float | np.floating) and np.isnan(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value


def _attribute_column(column: pd.Series) -> pd.Series:
    """Text attribute cells as numbers when every non-empty cell is one (ints stay ints);
    empty text means "no value"."""
    if not (pd.api.types.is_object_dtype(column) or pd.api.types.is_string_dtype(column)):
        return column
    text = column.astype("string").str.strip()
    empty = text.isna() | (text == "")
    numbers = pd.to_numeric(text.mask(empty), errors="coerce")
    # Codes with leading zeros (zip codes, "007") are text, not numbers.
    leading_zero = text[~empty].str.match(r"^[+-]?0\d").any()
    if empty.all() or leading_zero or numbers[~empty].isna().any():
        return text.mask(empty).astype(object)
    whole = numbers[~empty] == numbers[~empty].round()
    return numbers.astype("Int64") if whole.all() else numbers


def _attr_maps(df: pd.DataFrame, columns: list[str]) -> list[dict[str, Any]]:
    if not columns:
        return [{} for _ in range(len(df))]
    coerced = pd.DataFrame({c: _attribute_column(df[c]) for c in columns})
    values = coerced.astype(object).to_numpy()
    maps = []
    for row in values:
        attrs = {}
        for column, value in zip(columns, row, strict=True):
            value = _python_value(value)
            if value is not None:
                attrs[column] = value
        maps.append(attrs)
    return maps


class _Validator:
    def __init__(self, dataset: Dataset, known_in_graph: KnownInGraph) -> None:
        self.ds = dataset
        self.known_in_graph = known_in_graph
        self.errors = _Collector()

    def error(
        self, table: str, row: int | None, column: str | None, expected: str, found: str
    ) -> None:
        self.errors.add(DatasetError(_file(self.ds, table), row, column, expected, found))

    # ---- structure -------------------------------------------------------------------
    def check_structure(self, table: str, df: pd.DataFrame) -> bool:
        missing = [c for c in REQUIRED_COLUMNS[table] if c not in df.columns]
        for column in missing:
            self.error(
                table, None, column, f"a column named {column!r}", f"columns {list(df.columns)}"
            )
        if len(df) == 0:
            self.error(table, None, None, "at least one data row", "an empty table")
        for column in df.columns:
            name = str(column)
            if name in FIXED_COLUMNS[table]:
                continue
            if not SAFE_IDENTIFIER.match(name) or name in RESERVED_PROPERTIES:
                self.error(
                    table, None, name,
                    "an attribute column name that is an identifier ([A-Za-z_][A-Za-z0-9_]*) "
                    f"and not one of {sorted(RESERVED_PROPERTIES)}",
                    repr(name),
                )  # fmt: skip
        return not missing and len(df) > 0

    def check_ids(self, table: str, df: pd.DataFrame, column: str) -> pd.Series:
        ids = _clean_ids(df[column])
        rows = _row_numbers(self.ds, table, range(len(df)))
        for i in np.flatnonzero((ids == "").to_numpy()):
            self.error(table, rows[i], column, "a non-empty id", "an empty value")
        duplicated = ids.duplicated(keep="first") & (ids != "")
        if duplicated.any():
            first_row = {}
            for i, value in enumerate(ids):
                first_row.setdefault(value, rows[i])
            for i in np.flatnonzero(duplicated.to_numpy()):
                self.error(
                    table, rows[i], column, f"a unique {column}",
                    f"{ids.iloc[i]!r} again (first at row {first_row[ids.iloc[i]]})",
                )  # fmt: skip
        return ids

    def check_text(self, table: str, df: pd.DataFrame, column: str, required: bool) -> list:
        values = df[column].astype(object) if column in df.columns else pd.Series([None] * len(df))
        out = []
        rows = _row_numbers(self.ds, table, range(len(df)))
        for i, value in enumerate(values):
            value = _python_value(value)
            if value is not None and not isinstance(value, str):
                value = str(value)
            if value is not None:
                value = value.strip()
            if required and not value:
                self.error(table, rows[i], column, "non-empty text", "an empty value")
            out.append(value or None)
        return out

    def check_numeric(self, table: str, df: pd.DataFrame, column: str) -> list[float | None]:
        if column not in df.columns:
            return [None] * len(df)
        raw = df[column]
        numbers = pd.to_numeric(raw, errors="coerce")
        bad = numbers.isna() & raw.notna() & (raw.astype("string").str.strip() != "")
        rows = _row_numbers(self.ds, table, range(len(df)))
        for i in np.flatnonzero(bad.to_numpy()):
            self.error(table, rows[i], column, "a number", repr(raw.iloc[i]))
        return [None if pd.isna(v) else float(v) for v in numbers]

    def check_timestamps(self, table: str, df: pd.DataFrame) -> list[float | None]:
        """Unix seconds, from numbers or ISO-8601 strings."""
        if "timestamp" not in df.columns:
            return [None] * len(df)
        raw = df["timestamp"]
        seconds = pd.to_numeric(raw, errors="coerce").astype(float)
        text = raw.astype("string").str.strip()
        needs_parse = seconds.isna() & raw.notna() & (text != "")
        if needs_parse.any():
            parsed = pd.to_datetime(text[needs_parse], errors="coerce", utc=True, format="ISO8601")
            epoch = pd.Timestamp(0, tz="UTC")
            as_seconds = (parsed - epoch) / pd.Timedelta(seconds=1)
            seconds[needs_parse] = as_seconds.astype(float)
            rows = _row_numbers(self.ds, table, range(len(df)))
            for i in np.flatnonzero((needs_parse & seconds.isna()).to_numpy()):
                self.error(
                    table, rows[i], "timestamp",
                    "unix seconds or an ISO-8601 time", repr(raw.iloc[i]),
                )  # fmt: skip
        return [None if pd.isna(v) else float(v) for v in seconds]

    def graph_lookup(self, label: str, ids: set[str]) -> set[str]:
        return self.known_in_graph(label, sorted(ids)) if ids else set()

    # ---- tables ----------------------------------------------------------------------
    def run(self) -> PreparedImport:
        ds = self.ds
        tables = ds.tables()
        ok = {name: self.check_structure(name, df) for name, df in tables.items()}
        prepared = PreparedImport()

        item_ids: set[str] = set()
        if ok.get("items"):
            df = tables["items"]
            ids = self.check_ids("items", df, "item_id")
            titles = self.check_text("items", df, "title", required=True)
            descriptions = self.check_text("items", df, "description", required=False)
            attr_cols = [c for c in df.columns if c not in FIXED_COLUMNS["items"]]
            attrs = _attr_maps(df, attr_cols)
            item_ids = set(ids) - {""}
            prepared.items = [
                {"id": i, "title": t, "description": d, "attrs": a}
                for i, t, d, a in zip(ids, titles, descriptions, attrs, strict=True)
            ]

        entity_ids: set[str] = set()
        if ok.get("entities"):
            df = tables["entities"]
            ids = self.check_ids("entities", df, "entity_id")
            names = self.check_text("entities", df, "name", required=False)
            types = self.check_text("entities", df, "type", required=True)
            rows = _row_numbers(ds, "entities", range(len(df)))
            for i, entity_id in enumerate(ids):
                if entity_id in item_ids:
                    self.error(
                        "entities", rows[i], "entity_id", "an id that is not also an item id",
                        f"{entity_id!r}, which is an item_id in {_file(ds, 'items')}",
                    )  # fmt: skip
            entity_ids = set(ids) - {""}
            prepared.entities = [
                {"id": i, "name": n, "type": t} for i, n, t in zip(ids, names, types, strict=True)
            ]

        user_ids: set[str] = set()
        users_given = bool(ok.get("users"))
        if users_given:
            df = tables["users"]
            ids = self.check_ids("users", df, "user_id")
            attr_cols = [c for c in df.columns if c not in FIXED_COLUMNS["users"]]
            user_ids = set(ids) - {""}
            prepared.users = [
                {"id": i, "attrs": a} for i, a in zip(ids, _attr_maps(df, attr_cols), strict=True)
            ]

        if ok.get("triples"):
            self._triples(tables["triples"], item_ids, entity_ids, prepared)

        if ok.get("interactions"):
            self._interactions(tables["interactions"], item_ids, user_ids, users_given, prepared)

        self.errors.raise_if_any()
        return prepared

    def _triples(
        self,
        df: pd.DataFrame,
        item_ids: set[str],
        entity_ids: set[str],
        prepared: PreparedImport,
    ) -> None:
        ds = self.ds
        rows = _row_numbers(ds, "triples", range(len(df)))
        # Plain lists: positional Series access per row dominated validation time.
        heads = _clean_ids(df["head"]).tolist()
        tails = _clean_ids(df["tail"]).tolist()
        relations = df["relation"].astype("string").fillna("").str.strip().tolist()
        weights = self.check_numeric("triples", df, "weight")
        referenced = (set(heads) | set(tails)) - item_ids - entity_ids - {""}
        graph_items = self.graph_lookup("Item", referenced)
        graph_entities = self.graph_lookup("Entity", referenced - graph_items)

        def label_of(node_id: str) -> str | None:
            if node_id in item_ids or node_id in graph_items:
                return "Item"
            if node_id in entity_ids or node_id in graph_entities:
                return "Entity"
            return None

        seen: dict[tuple[str, str, str], int] = {}
        for i in range(len(df)):
            relation = str(relations[i])
            if not SAFE_IDENTIFIER.match(relation) or relation in RESERVED_RELATIONS:
                self.error(
                    "triples", rows[i], "relation",
                    "a relation name that is an identifier ([A-Za-z_][A-Za-z0-9_]*), "
                    "not INTERACTED",
                    repr(relation),
                )  # fmt: skip
                continue
            labels = []
            for column, node_id in (("head", heads[i]), ("tail", tails[i])):
                label = label_of(node_id)
                if label is None:
                    self.error(
                        "triples", rows[i], column, "the id of an item or entity",
                        f"{node_id!r}, which is in neither {_file(ds, 'items')}, "
                        f"{_file(ds, 'entities')} nor the graph",
                    )  # fmt: skip
                labels.append(label)
            if None in labels:
                continue
            key = (heads[i], relation, tails[i])
            if key in seen:
                self.error(
                    "triples", rows[i], None, "each (head, relation, tail) once",
                    f"{key} again (first at row {seen[key]})",
                )  # fmt: skip
                continue
            seen[key] = rows[i]
            group = (labels[0], relation, labels[1])
            prepared.triples.setdefault(group, []).append(
                {"head": heads[i], "tail": tails[i], "weight": weights[i]}
            )

    def _interactions(
        self,
        df: pd.DataFrame,
        item_ids: set[str],
        user_ids: set[str],
        users_given: bool,
        prepared: PreparedImport,
    ) -> None:
        ds = self.ds
        rows = _row_numbers(ds, "interactions", range(len(df)))
        users = _clean_ids(df["user_id"]).tolist()
        items = _clean_ids(df["item_id"]).tolist()
        ts = self.check_timestamps("interactions", df)
        ratings = self.check_numeric("interactions", df, "rating")
        weights = self.check_numeric("interactions", df, "weight")
        kinds = self.check_text("interactions", df, "kind", required=False)
        ctx_cols = [c for c in df.columns if c not in FIXED_COLUMNS["interactions"]]
        ctx = _attr_maps(df, ctx_cols)

        unknown_items = set(items) - item_ids - {""}
        known_items = item_ids | self.graph_lookup("Item", unknown_items)
        if users_given:
            known_users = user_ids | self.graph_lookup("User", set(users) - user_ids - {""})
        else:
            # No users file: users are created from the interactions.
            known_users = set(users) - {""}
            prepared.users = [{"id": u, "attrs": {}} for u in sorted(known_users)]

        seen: dict[str, int] = {}
        users_file, items_file = _file(ds, "users"), _file(ds, "items")
        for i in range(len(df)):
            user, item = users[i], items[i]
            bad = False
            for column, value, known, where in (
                ("user_id", user, known_users, users_file),
                ("item_id", item, known_items, items_file),
            ):
                if value == "":
                    self.error("interactions", rows[i], column, "a non-empty id", "an empty value")
                    bad = True
                elif value not in known:
                    self.error(
                        "interactions", rows[i], column, f"an id defined in {where} or the graph",
                        f"{value!r}",
                    )  # fmt: skip
                    bad = True
            if bad:
                continue
            key = interaction_key(user, item, ts[i], kinds[i])
            if key in seen:
                self.error(
                    "interactions", rows[i], None, "each (user_id, item_id, timestamp, kind) once",
                    f"the same interaction as row {seen[key]}",
                )  # fmt: skip
                continue
            seen[key] = rows[i]
            prepared.interactions.append(
                {
                    "user_id": user, "item_id": item, "key": key, "ts": ts[i],
                    "weight": weights[i], "rating": ratings[i], "kind": kinds[i], "ctx": ctx[i],
                }
            )  # fmt: skip


def validate(dataset: Dataset, known_in_graph: KnownInGraph) -> PreparedImport:
    """Check everything; return write-ready rows or raise `ValidationFailed`."""
    return _Validator(dataset, known_in_graph).run()
