"""Known-user recommendations served beneath FastAPI's routing layers — when they succeed.

`GET /users/{user_id}/recommendations` is the hot route. Through FastAPI a request passes
the exception, exit-stack and routing layers and the dependency solver before the handler
runs: about 0.1 ms per request, as much as the scoring of a 16-request batch (measured in
docs/decisions.md). This middleware sits inside `ObservabilityMiddleware` (metrics, request
id and access log stay as they are) and answers a request itself only when the route would
answer 200: the path and method match, the API key (if one is configured) is right, the id
and the options validate, the user and the filter's entity are known. It then calls the
route's own pieces — `parse_query` with the route's model, `recommend_response` — and sets
`scope["route"]` as the router would, so the answer, its headers and its metric label are
the route's. Everything else goes on to the app unchanged, where the route (or another one)
gives the documented answer: one definition of the behaviour, one of the errors.
`tests/api/test_fast_path.py` checks both ways give the same status, headers and body.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import TypeAdapter, ValidationError
from starlette.datastructures import QueryParams
from starlette.types import ASGIApp, Receive, Scope, Send
from tailgraph.api.service.dependencies import key_accepted
from tailgraph.api.service.errors import ApiError
from tailgraph.api.service.routers.common import parse_query
from tailgraph.api.service.routers.users import recommend_response
from tailgraph.api.service.schemas import Id, RecommendationFilters

if TYPE_CHECKING:
    from tailgraph.api.service.batching import ScoringBatcher
    from tailgraph.api.service.runtime import Runtime

ROUTE_PATH = "/users/{user_id}/recommendations"
# Starlette's `{user_id}` matches one path segment ([^/]+) of the decoded path.
_PATH = re.compile(r"/users/([^/]+)/recommendations")
_ID = TypeAdapter(Id)


class FastRecommendations:
    def __init__(
        self, app: ASGIApp, runtime: Runtime, batcher: ScoringBatcher | None, route: APIRoute
    ) -> None:
        self.app = app
        self.runtime = runtime
        self.batcher = batcher
        self.route = route

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = (
            _PATH.fullmatch(scope["path"])
            if scope["type"] == "http" and scope["method"] == "GET" and not scope.get("root_path")
            else None
        )
        if match is None or not key_accepted(self.runtime.settings.api_key, _api_key(scope)):
            await self.app(scope, receive, send)
            return
        try:
            user_id = _ID.validate_python(match.group(1))
            options = parse_query(RecommendationFilters, QueryParams(scope["query_string"]))
            # Unknown user or entity raise before any scoring: nothing is sent yet.
            response = await recommend_response(self.runtime.state, self.batcher, user_id, options)
        except (ValidationError, RequestValidationError, ApiError):
            await self.app(scope, receive, send)  # the route gives its documented 4xx
            return
        scope["route"] = self.route
        await response(scope, receive, send)


def _api_key(scope: Scope) -> str | None:
    """The `X-API-Key` header as FastAPI's `APIKeyHeader` reads it: first one, empty = none."""
    for name, value in scope["headers"]:
        if name == b"x-api-key":
            return value.decode("latin-1") or None
    return None
