"""Errors the graph layer raises, each saying what was expected, what was found and where."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class DatasetError(Exception):
    """A problem in one place of an input file (row and column when they are known).

    `row` is the 1-based line number in the file (the header is line 1), so a user
    can jump straight to it in an editor.
    """

    file: str
    row: int | None
    column: str | None
    expected: str
    found: str

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.column is not None:
            where += f", column {self.column!r}"
        return f"{where}: expected {self.expected}, found {self.found}"


class ValidationFailed(Exception):
    """Several `DatasetError`s found before anything was written."""

    def __init__(self, errors: list[DatasetError], total: int | None = None) -> None:
        self.errors = errors
        self.total = total if total is not None else len(errors)
        super().__init__(str(self))

    def __str__(self) -> str:
        lines = [f"{self.total} problem(s) found; nothing was written:"]
        lines += [f"  - {e}" for e in self.errors]
        if self.total > len(self.errors):
            lines.append(f"  ... and {self.total - len(self.errors)} more")
        return "\n".join(lines)


class GraphUnavailable(Exception):
    """The graph server cannot be reached (not started, stopped, network down)."""


class GraphWriteRefused(GraphUnavailable):
    """The graph server answers but cannot write now: its disk is full or failing (Redis's
    MISCONF), it is out of memory, or it is read-only. Retrying later may succeed, so callers
    treat it like an unreachable graph (the API answers 503 with `Retry-After`)."""


class EmbeddedServerError(RuntimeError):
    """The embedded graph server could not be started, stopped or compacted; the message
    names the home directory or log file to look at."""


class CypherError(Exception):
    """The server rejected a statement; carries the statement name for context."""

    def __init__(self, name: str, message: str) -> None:
        self.name = name
        super().__init__(f"{name}: {message}")
