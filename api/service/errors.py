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

from collections.abc import Sequence

from pydantic import BaseModel


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
            "detail": [{"loc": loc, "msg": msg, "type": self.type} for loc, msg in self.problems]
        }


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
        404: "An id in the path, query or body is unknown; `loc` names it.",
        409: "Conflict: the id already exists, or a reload is already running.",
        422: "Invalid input; `loc` names the field.",
        503: "The graph is unreachable or cannot write now (full disk, out of memory); retry "
        "after `Retry-After` seconds.",
    }
    return {code: {"model": ErrorResponse, "description": text[code]} for code in codes}
