"""Errors the service answers with, all in FastAPI's validation-error shape.

Every 4xx/5xx body is `{"detail": [{"loc": [...], "msg": "...", "type": "..."}]}` — the
shape FastAPI already uses for 422 — so a client parses one shape, and `loc` names the
field (`["path", "user_id"]`, `["body", "links", 2, "relation"]`, `["graph"]`).

Status rules: unknown ids (users, items, entities) → 404; values outside a run's
vocabulary (relation names, entity types, attribute values) and other semantically
invalid input → 422; an id that already exists → 409; the graph unreachable, or unable to
write (full disk, out of memory) → 503 with `Retry-After`; a missing/wrong API key → 401;
500 only for genuine server bugs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel

# What a 422 may echo of the input: strings cut to ECHO_TEXT characters, containers to
# ECHO_ITEMS entries, ECHO_DEPTH levels deep. A 10 MB list was echoed back whole before.
ECHO_TEXT = 100
ECHO_ITEMS = 5
ECHO_DEPTH = 2


class ErrorItem(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ErrorResponse(BaseModel):
    detail: list[ErrorItem]


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        problems: Sequence[tuple[Sequence[str | int], str]],
        type_: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.status = status
        self.problems = [(list(loc), msg) for loc, msg in problems]
        self.type = type_
        self.headers = headers
        super().__init__("; ".join(f"{'.'.join(map(str, loc))}: {msg}" for loc, msg in problems))

    def body(self) -> dict[str, object]:
        return {
            "detail": [
                {"loc": [safe_text(p) if isinstance(p, str) else p for p in loc],
                 "msg": safe_text(msg), "type": self.type}
                for loc, msg in self.problems
            ]
        }  # fmt: skip


def safe_text(value: str, limit: int | None = None) -> str:
    """`value` as text any JSON encoder takes: unpaired surrogates written as `\\udXXX`
    (they cannot be encoded as UTF-8), cut to `limit` characters with a "…" when longer."""
    if limit is not None and len(value) > limit:
        value = value[:limit] + "…"
    return value.encode("utf-8", "backslashreplace").decode("utf-8")


def echo(value: Any, depth: int = 0) -> Any:
    """A bounded, JSON-safe preview of an input value for an error answer."""
    if isinstance(value, str):
        return safe_text(value, ECHO_TEXT)
    if isinstance(value, bool | int) or value is None:
        return value if not isinstance(value, int) or abs(value) < 10**18 else str(value)[:40]
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, bytes | bytearray):
        return safe_text(bytes(value[: ECHO_TEXT * 4]).decode("utf-8", "replace"), ECHO_TEXT)
    if depth >= ECHO_DEPTH:
        return f"<{type(value).__name__}>"
    if isinstance(value, Mapping):
        items = list(value.items())
        out = {safe_text(str(k), ECHO_TEXT): echo(v, depth + 1) for k, v in items[:ECHO_ITEMS]}
        if len(items) > ECHO_ITEMS:
            out["…"] = f"{len(items) - ECHO_ITEMS} more"
        return out
    if isinstance(value, list | tuple):
        shown = [echo(v, depth + 1) for v in value[:ECHO_ITEMS]]
        return shown + ([f"… {len(value) - ECHO_ITEMS} more"] if len(value) > ECHO_ITEMS else [])
    return safe_text(type(value).__name__)


def validation_details(errors: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Request-validation errors in FastAPI's shape (`loc`, `msg`, `type`, `input`, `ctx`),
    made so that rendering them cannot fail on any input and stays small: at most 20
    entries, each echoing a bounded prefix of what was sent."""
    out = []
    for error in list(errors)[:20]:
        entry: dict[str, Any] = {
            "loc": [
                p if isinstance(p, int) else safe_text(str(p), ECHO_TEXT)
                for p in error.get("loc", ())
            ],
            "msg": safe_text(str(error.get("msg", "")), 500),
            "type": safe_text(str(error.get("type", "value_error")), 100),
        }
        if "input" in error:
            entry["input"] = echo(error["input"])
        ctx = error.get("ctx")
        if isinstance(ctx, Mapping):
            shown = list(ctx.items())[:ECHO_ITEMS]
            plain = [(k, v if isinstance(v, int | float | str) else str(v)) for k, v in shown]
            entry["ctx"] = {safe_text(str(k), ECHO_TEXT): echo(v) for k, v in plain}
        out.append(entry)
    return out


def not_found(loc: Sequence[str | int], msg: str) -> ApiError:
    return ApiError(404, [(loc, msg)], "not_found")


def invalid(problems: Sequence[tuple[Sequence[str | int], str]]) -> ApiError:
    return ApiError(422, problems, "value_error")


def conflict(loc: Sequence[str | int], msg: str) -> ApiError:
    return ApiError(409, [(loc, msg)], "conflict")


def graph_unavailable(reason: str, refused: bool = False) -> ApiError:
    """503 + `Retry-After`: the graph is unreachable, or it answers but cannot write now."""
    state = "cannot write now" if refused else "is unreachable"
    return ApiError(
        503,
        [(["graph"], f"the graph {state} ({reason}); retry later")],
        "graph_unavailable",
        headers={"Retry-After": "5"},
    )


def responses(*codes: int) -> dict[int | str, dict[str, object]]:
    """OpenAPI `responses=` entries for the error codes an endpoint can answer."""
    text = {
        401: "Missing or wrong API key (only when TAILGRAPH_API_API_KEY is set).",
        403: "Admin endpoints without TAILGRAPH_API_API_KEY set answer loopback clients only.",
        404: "An id in the path, query or body is unknown; `loc` names it.",
        409: "Conflict: the id already exists, or a reload is already running.",
        413: "The request body is larger than TAILGRAPH_API_MAX_BODY_BYTES (default 1 MiB).",
        422: "Invalid input; `loc` names the field.",
        503: "The graph is unreachable or cannot write now (full disk, out of memory); retry "
        "after `Retry-After` seconds.",
    }
    return {code: {"model": ErrorResponse, "description": text[code]} for code in codes}
