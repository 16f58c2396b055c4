"""Shared reading helpers for the adapters: strict UTF-8 decoding and safe relation names.

Every input file goes through `read_text`, which decodes the bytes as UTF-8 and
fails with a `DatasetError` naming the file and line when they are not UTF-8,
instead of letting a parser guess an encoding and silently mangle names.
A leading byte-order mark is dropped and CRLF line endings become LF, so files
written on Windows read the same as any other.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd
from tailgraph.kg.errors import DatasetError

# The importer turns relation names into Cypher relationship types and only accepts these.
SAFE_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def read_text(path: Path) -> str:
    """The whole file as text; raises `DatasetError` (file, line) on bytes that are not UTF-8."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DatasetError(str(path), None, None, "an existing file", "no such file") from None
    except IsADirectoryError:
        raise DatasetError(str(path), None, None, "a file", "a directory") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        line_start = data.rfind(b"\n", 0, err.start) + 1
        bad = data[err.start : err.end].hex(" ")
        raise DatasetError(
            str(path),
            line,
            None,
            "UTF-8 text (re-save the file as UTF-8)",
            f"byte(s) {bad} at character {err.start - line_start + 1} of the line, "
            "which are not valid UTF-8",
        ) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    return text.replace("\r\n", "\n")


def read_delimited(
    path: Path,
    *,
    sep: str,
    names: Sequence[str] | None = None,
    quoted: bool = False,
) -> pd.DataFrame:
    """A delimited text file with every cell as a verbatim string (no NA guessing, no numbers).

    `names` given means the file has no header row. `quoted=False` reads quote
    characters literally: RecBole, HetRec and edge-list files do not use CSV quoting,
    and titles such as `"Weird Al" Yankovic` must survive unchanged.
    """
    text = read_text(path)
    try:
        return pd.read_csv(
            io.StringIO(text),
            sep=sep,
            header=None if names is not None else 0,
            names=list(names) if names is not None else None,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            quoting=csv.QUOTE_MINIMAL if quoted else csv.QUOTE_NONE,
            engine="c",
        )
    except pd.errors.EmptyDataError:
        raise DatasetError(str(path), None, None, "a header row", "an empty file") from None
    except pd.errors.ParserError as err:
        raise parser_error(path, err) from None


def parser_error(path: Path, err: Exception) -> DatasetError:
    """A pandas tokenizer error as a `DatasetError`, with the file line when pandas names it."""
    message = str(err).strip().removeprefix("Error tokenizing data. C error: ")
    match = re.search(r"in line (\d+)", message)
    line = int(match.group(1)) if match else None
    return DatasetError(str(path), line, None, "well-formed delimited rows", message)


def safe_relation_name(raw: str) -> str:
    """A relation name as an upper-snake identifier usable as a Cypher relationship type.

    camelCase words are split (`recordLabel` -> `RECORD_LABEL`), every run of other
    characters becomes one underscore (`film.film.directed_by` -> `FILM_FILM_DIRECTED_BY`),
    and a name that would start with a digit (or be empty) gets an `R_` prefix.
    """
    name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", raw)
    name = re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_").upper()
    if not name or name[0].isdigit():
        name = "R_" + name
    return name


def relation_names(raw_names: Iterable[str], source: str) -> dict[str, str]:
    """Map each raw relation name to its safe name; two raw names sharing one is an error."""
    mapping: dict[str, str] = {}
    taken: dict[str, str] = {}
    for raw in sorted(set(raw_names)):
        safe = safe_relation_name(raw)
        if safe in taken:
            raise DatasetError(
                source,
                None,
                None,
                "relation names that stay distinct as identifiers",
                f"{taken[safe]!r} and {raw!r} both become {safe!r}",
            )
        taken[safe] = raw
        mapping[raw] = safe
    return mapping


def joined_sources(paths: Iterable[Path]) -> str:
    """Several input files for one table: listed in order, the main file first."""
    return "; ".join(str(p) for p in paths)
