"""The app factory: routers, error handlers, metrics/log middleware, the run loaded at start.

`create_app(settings)` returns a FastAPI app whose lifespan loads the run (failing fast
on a bad run directory: a misconfigured server should not come up) and closes the
graph connection at shutdown. Error handling:

- `ApiError` (404/409/422/503/401 raised by the code) → its status and body;
- `GraphUnavailable` escaping a handler → 503 (the graph layer's own error; it includes
  `GraphWriteRefused`: the server answers but cannot write, e.g. a full disk);
- request validation → 422 naming the field (FastAPI's shape; the echoed input is a
  bounded, JSON-safe preview: rendering it cannot fail, whatever was sent);
- a body over `max_body_bytes` → 413 before it is read (`limits.BodyLimit`);
- anything else is a bug: logged with its traceback and request id, answered 500 with
  only the request id (no internals leak to clients).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import torch
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException as StarletteHTTPException
from tailgraph.api.service import fast_path
from tailgraph.api.service.batching import ScoringBatcher
from tailgraph.api.service.dependencies import require_admin, require_api_key
from tailgraph.api.service.errors import ApiError, graph_unavailable, validation_details
from tailgraph.api.service.limits import BodyLimit, too_large_body
from tailgraph.api.service.observability import Metrics, ObservabilityMiddleware, configure_logging
from tailgraph.api.service.routers import items, ops, recommendations, users
from tailgraph.api.service.runtime import Runtime
from tailgraph.api.service.settings import ServiceSettings
from tailgraph.encoders import TextEncoder
from tailgraph.kg.errors import GraphUnavailable, GraphWriteRefused

log = logging.getLogger("tailgraph.api")

DESCRIPTION = """Knowledge-graph-augmented recommendations for the long tail.

Recommendations are computed from the loaded run's tensors and keep working while the
graph is down; explanations, recorded interactions and new items need the graph and
answer 503 until it is back. Errors use one shape: `{"detail": [{"loc", "msg", "type"}]}`.
"""


def create_app(
    settings: ServiceSettings | None = None, encoder: TextEncoder | None = None
) -> FastAPI:
    settings = settings or ServiceSettings()
    configure_logging(settings.log_level)
    torch.set_num_threads(settings.torch_threads)
    metrics = Metrics()
    runtime = Runtime(settings, encoder=encoder, metrics=metrics)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime.start()
        yield
        runtime.close()

    # Swagger UI and ReDoc from the files `fastapi-offline` ships (under /static-offline-docs),
    # not from a CDN: the docs render on a machine without internet access.
    app = FastAPIOffline(
        title="Tailgraph",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    app.state.batcher = (
        ScoringBatcher(observe_batch=metrics.scoring_batch.observe)
        if settings.micro_batch
        else None
    )
    # The key check is a dependency only when a key is configured: it then shows in the
    # OpenAPI security schemes, and without one it costs nothing per request.
    guarded = [Depends(require_api_key)] if settings.api_key is not None else []
    app.include_router(users.router, dependencies=guarded)
    app.include_router(recommendations.router, dependencies=guarded)
    app.include_router(items.router, dependencies=guarded)
    app.include_router(ops.info, dependencies=guarded)
    app.include_router(ops.admin, dependencies=[*guarded, Depends(require_admin)])
    app.include_router(ops.router)  # health, readiness and metrics stay open for probes
    if settings.fast_recommend:
        # Added first, so it runs inside the observability middleware (added last = outermost).
        # The route as its router declares it (the app includes the router without a prefix).
        route = next(
            r
            for r in users.router.routes
            if isinstance(r, APIRoute) and r.path == fast_path.ROUTE_PATH
        )
        app.add_middleware(
            fast_path.FastRecommendations,
            runtime=runtime,
            batcher=app.state.batcher,
            route=route,
        )
    # Inside the metrics middleware (a refused body is counted), in front of everything else.
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    app.add_middleware(ObservabilityMiddleware, metrics=metrics, log_requests=settings.access_log)

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        if exc.status == 503:
            metrics.graph_unavailable.inc()
        return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's own handler echoes the whole input: a NaN/Infinity (Python's JSON parser
        # accepts them) or a lone surrogate then failed to render (a 500 for bad input), and
        # a 10 MB list was sent back whole.
        return JSONResponse({"detail": validation_details(exc.errors())}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # Errors raised by the framework itself (unknown route, wrong method, a body that
        # is not even UTF-8), answered in the same shape as ours. An unreadable body is
        # 422 like any other invalid body, so clients handle one status for bad input.
        if exc.status_code == 400:
            body = {"detail": [{"loc": ["body"], "msg": str(exc.detail), "type": "body_error"}]}
            return JSONResponse(body, status_code=422)
        if exc.status_code == 413:  # a chunked body over the limit (`limits.BodyLimit`)
            content = too_large_body(settings.max_body_bytes)
            return Response(content, status_code=413, media_type="application/json")
        body = {"detail": [{"loc": [], "msg": str(exc.detail), "type": "http_error"}]}
        return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(GraphUnavailable)
    async def graph_down(request: Request, exc: GraphUnavailable) -> JSONResponse:
        refused = isinstance(exc, GraphWriteRefused)
        return await api_error(request, graph_unavailable(str(exc), refused=refused))

    @app.exception_handler(Exception)
    async def server_bug(request: Request, exc: Exception) -> JSONResponse:
        request_id = getattr(request.state, "request_id", None)
        metrics.server_errors.inc()
        log.error(
            "unhandled error",
            exc_info=exc,
            extra={
                "fields": {
                    "request_id": request_id,
                    "path": request.url.path,
                    "method": request.method,
                }
            },
        )
        body = {
            "detail": [
                {"loc": [], "msg": f"internal error (request {request_id})", "type": "server_error"}
            ]
        }
        # This answer is sent from outside the middleware stack: add the request id here.
        headers = {"X-Request-ID": request_id} if request_id else None
        return JSONResponse(body, status_code=500, headers=headers)

    return app
