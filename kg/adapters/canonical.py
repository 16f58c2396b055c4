"""Read a canonical dataset directory (`<table>.csv` or `<table>.parquet`) into a `Dataset`.

This is the parse level only: it refuses what it cannot read faithfully and
leaves meaning (duplicate keys, unknown ids, identifier rules) to the importer.

How cells are read, so nothing is silently coerced:

* CSV must be UTF-8 (a BOM is allowed). Undecodable bytes raise a `DatasetError`
  with the file and line.
* Rows are file lines: a blank line inside the file is kept as a row of empty
  cells (the importer then names its line) instead of being skipped, which
  would shift every later row number. (A quoted cell spanning several lines
  still shifts the numbering after it; pandas does not report line spans.)
* CSV cells are read verbatim as strings: `NA`, `null` or `None` stay text (an id
  or a band name, not a missing value) and an empty cell is the empty string.
* The columns with a numeric meaning (`rating`/`weight` on interactions, `weight`
  on triples, and `timestamp`) become numbers only when every non-empty cell
  parses as one; empty cells become NaN. Otherwise the column stays text so the
  importer can report the offending row (a `timestamp` of ISO-8601 strings stays
  text on purpose). Attribute and context columns stay text: CSV carries no
  types, and guessing would turn a zip code like `02139` into 2139. Use Parquet
  for typed attribute columns.
* Parquet keeps its own types; integer id columns are turned into strings
  (lossless), any other non-string id column is an error.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd
import pyarrow as pa
from tailgraph.kg.adapters._io import parser_error, read_text
from tailgraph.kg.dataset import ID_COLUMNS, NUMERIC_COLUMNS, TABLES, Dataset
from tailgraph.kg.errors import DatasetError

# `timestamp` may be unix seconds or ISO-8601 text, so it is numeric only when it all parses.
MAYBE_NUMERIC: dict[str, tuple[str, ...]] = {
    "items": (),
    "entities": (),
    "users": (),
    "triples": NUMERIC_COLUMNS.get("triples", ()),
    "interactions": (*NUMERIC_COLUMNS.get("interactions", ()), "timestamp"),
}


def read_canonical(src: Path) -> Dataset:
    """Read every `<table>.csv` / `<table>.parquet` in `src`; `items` is required."""
    src = Path(src)
    if not src.exists():
        raise DatasetError(str(src), None, None, "a dataset directory", "no such directory")
    if not src.is_dir():
        raise DatasetError(
            str(src), None, None, "a directory of <table>.csv or <table>.parquet files", "a file"
        )
    frames: dict[str, pd.DataFrame] = {}
    sources: dict[str, str] = {}
    header_rows: dict[str, int] = {}
    for table in TABLES:
        csv_path, parquet_path = src / f"{table}.csv", src / f"{table}.parquet"
        if csv_path.exists() and parquet_path.exists():
            raise DatasetError(
                str(src),
                None,
                None,
                f"one of {table}.csv or {table}.parquet",
                "both (remove one so it is clear which to import)",
            )
        if csv_path.exists():
            frames[table] = read_csv_table(csv_path, table)
            sources[table], header_rows[table] = str(csv_path), 1
        elif parquet_path.exists():
            frames[table] = read_parquet_table(parquet_path, table)
            sources[table], header_rows[table] = str(parquet_path), 0
    if "items" not in frames:
        raise DatasetError(
            str(src),
            None,
            None,
            "an items table (items.csv or items.parquet)",
            "neither" + other_format_hint(src),
        )
    return Dataset(**frames, sources=sources, header_rows=header_rows)


def other_format_hint(src: Path) -> str:
    """A hint when the directory holds a format an adapter reads (the usual slip: a
    RecBole or HetRec folder imported without `--format`)."""
    recbole = sorted(p.name for p in src.iterdir() if p.suffix in (".inter", ".item", ".kg"))
    if recbole:
        return f"; it holds RecBole atomic files ({', '.join(recbole)}): use --format recbole"
    if (src / "user_artists.dat").exists() and (src / "artists.dat").exists():
        return "; it holds HetRec Last.fm files (artists.dat): use --format lastfm-hetrec"
    return ""


def read_csv_table(path: Path, table: str) -> pd.DataFrame:
    text = read_text(path)
    if not text.strip():
        raise DatasetError(str(path), None, None, "a header row", "an empty file")
    check_header(path, text)
    # Blank lines inside the file stay rows (so row n is still line n + 1 and the importer
    # reports them as empty); blank lines at the very end are only trailing whitespace.
    text = text.rstrip("\n") + "\n"
    try:
        df = pd.read_csv(
            io.StringIO(text),
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=False,
            engine="c",
        )
    except pd.errors.ParserError as err:
        raise parser_error(path, err) from None
    for column in MAYBE_NUMERIC[table]:
        if column in df.columns:
            df[column] = numbers_if_all_parse(df[column])
    return df


def check_header(path: Path, text: str) -> None:
    """pandas renames a repeated column to `x.1`; that is a silent change, so refuse it."""
    header = next(csv.reader(io.StringIO(text)), [])
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise DatasetError(str(path), 1, name, "unique column names", f"{name!r} twice")
        seen.add(name)


def numbers_if_all_parse(column: pd.Series) -> pd.Series:
    """The column as numbers when every non-empty cell is one; otherwise unchanged text."""
    stripped = column.str.strip()
    empty = stripped == ""
    parsed = pd.to_numeric(stripped.mask(empty), errors="coerce")
    if parsed[~empty].isna().any():
        return column
    return parsed


def read_parquet_table(path: Path, table: str) -> pd.DataFrame:
    try:
        df = pd.read_parquet(path)
    except (OSError, ValueError, pa.ArrowException) as err:
        raise DatasetError(str(path), None, None, "a readable Parquet file", str(err)) from None
    for column in ID_COLUMNS[table]:
        if column not in df.columns or pd.api.types.is_string_dtype(df[column]):
            continue
        if pd.api.types.is_integer_dtype(df[column]):
            df[column] = df[column].astype("str")
        else:
            raise DatasetError(
                str(path), None, column, "string (or integer) ids", f"{df[column].dtype} values"
            )
    return df
