"""Dataset readers: the canonical directory format and adapters for public formats.

`load_dataset(path)` reads a canonical directory (`<table>.csv` / `<table>.parquet`,
see `kg.dataset`); `load_dataset(path, "recbole")` or `"lastfm-hetrec"` converts
that format on the fly. Every reader returns a `kg.dataset.Dataset` whose
`sources` name the input files behind each table (several joined by "; ", the
main file first), so the importer's errors can point at a file.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError
from tailgraph.kg.adapters._io import safe_relation_name
from tailgraph.kg.adapters.canonical import read_canonical
from tailgraph.kg.adapters.lastfm import load_lastfm_hetrec
from tailgraph.kg.adapters.recbole import load_recbole
from tailgraph.kg.dataset import Dataset

ADAPTERS: dict[str, Callable[..., Dataset]] = {
    "recbole": load_recbole,
    "lastfm-hetrec": load_lastfm_hetrec,
}
FORMATS: tuple[str, ...] = ("canonical", *ADAPTERS)


def load_dataset(src: Path, fmt: str = "canonical", **options: Any) -> Dataset:
    """Read `src` in format `fmt` ("canonical" or a key of `ADAPTERS`) with adapter `options`."""
    if fmt == "canonical":
        if options:
            raise TypeError(f"the canonical format takes no options; found {sorted(options)}")
        return read_canonical(Path(src))
    if fmt not in ADAPTERS:
        raise ValueError(f"dataset format: expected one of {', '.join(FORMATS)}; found {fmt!r}")
    reader = ADAPTERS[fmt]
    return reader(Path(src), **adapter_options(fmt, reader, options))


def adapter_options(
    fmt: str, reader: Callable[..., Dataset], options: dict[str, Any]
) -> dict[str, Any]:
    """`options` checked against the adapter's keyword parameters and converted to their
    types (`"true"` → True for a bool, a string → a Path): a misspelt or mistyped option is
    one clear error, not a Python `TypeError` from the call."""
    hints = typing.get_type_hints(reader)
    allowed = [
        name
        for name, param in inspect.signature(reader).parameters.items()
        if param.kind is inspect.Parameter.KEYWORD_ONLY
    ]
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ValueError(
            f"{fmt} option {unknown[0]!r}: unknown; expected one of {', '.join(allowed)}"
        )
    checked = {}
    for name, value in options.items():
        try:
            checked[name] = TypeAdapter(hints[name]).validate_python(value)
        except ValidationError as exc:
            message = exc.errors(include_url=False)[0]["msg"]
            raise ValueError(f"{fmt} option {name!r}: {message}; found {value!r}") from None
    return checked


__all__ = [
    "ADAPTERS",
    "FORMATS",
    "load_dataset",
    "load_lastfm_hetrec",
    "load_recbole",
    "read_canonical",
    "safe_relation_name",
]
