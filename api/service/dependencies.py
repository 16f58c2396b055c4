"""Shared state for the routers, through `Depends`: the runtime, the served state, the key."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader

from api.service.errors import ApiError
from api.service.runtime import Runtime
from api.service.state import ServingState

api_key_header = APIKeyHeader(
    name="X-API-Key",
    auto_error=False,
    description="Required only when the service runs with TAILGRAPH_API_API_KEY set.",
)


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def get_state(runtime: Annotated[Runtime, Depends(get_runtime)]) -> ServingState:
    """The state this request uses from start to end (a reload swaps the runtime's reference,
    never this object)."""
    return runtime.state


def require_api_key(
    runtime: Annotated[Runtime, Depends(get_runtime)],
    key: Annotated[str | None, Security(api_key_header)] = None,
) -> None:
    expected = runtime.settings.api_key
    if expected is None:
        return
    if key is None or not secrets.compare_digest(
        key.encode("utf-8", "surrogateescape"), expected.get_secret_value().encode()
    ):
        raise ApiError(
            401,
            [(["header", "X-API-Key"], "missing or wrong API key")],
            "unauthorized",
            headers={"WWW-Authenticate": "APIKey"},
        )


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
StateDep = Annotated[ServingState, Depends(get_state)]
