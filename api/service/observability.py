"""Prometheus metrics, JSON logs and the per-request middleware that feeds both.

Metrics live in a registry per app (several apps in one test process must not share
counters). Under `workers > 1`, `serve` sets `PROMETHEUS_MULTIPROC_DIR` before the
workers start, prometheus-client then keeps values in shared files and `/metrics`
aggregates every worker (`MultiProcessCollector`) — otherwise a scrape would see
whichever worker answered it.

The middleware is plain ASGI (no `BaseHTTPMiddleware`: it would add a task and a
stream copy per request): it times the request, labels the latency histogram with
the route *template* (`/users/{user_id}/recommendations`, never the raw path, so ids
do not explode the label set) and the method, tags the response with `X-Request-ID`, and
writes one JSON access-log line. Labels come from fixed sets only — the app's route
templates and the standard HTTP methods; anything else (a path no route matches, a made-up
method) is the one label `other`. A client can otherwise mint a label per request: 5,000 made-up
methods made `/metrics` 9.4 MB, and rendering it held the event loop for seconds.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
import uuid
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OTHER = "other"

access_log = logging.getLogger("tailgraph.api.access")


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.latency = Histogram(
            "tailgraph_http_request_duration_seconds",
            "HTTP request latency by route template, method and status.",
            ["route", "method", "status"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.in_flight = Gauge(
            "tailgraph_http_requests_in_flight",
            "Requests being answered.",
            registry=r,
            multiprocess_mode="livesum",
        )
        self.graph_unavailable = Counter(
            "tailgraph_graph_unavailable_total",
            "Requests answered 503: graph unreachable.",
            registry=r,
        )
        self.interactions = Counter(
            "tailgraph_interactions_recorded_total", "Interactions recorded.", registry=r
        )
        self.items_added = Counter("tailgraph_items_added_total", "Items added.", registry=r)
        self.reloads = Counter(
            "tailgraph_reloads_total", "Run reloads by outcome.", ["outcome"], registry=r
        )
        self.server_errors = Counter(
            "tailgraph_server_errors_total", "Unhandled exceptions (answered 500).", registry=r
        )
        self.write_lock_wait = Histogram(
            "tailgraph_write_lock_wait_seconds",
            "How long a write (recorded interaction, added item) waited for the write lock; "
            "a reload holds it only for its last replay round and the swap.",
            buckets=(1e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 0.005, 0.05, 0.5, 5.0, 30.0),
            registry=r,
        )
        self.scoring_batch = Histogram(
            "tailgraph_scoring_batch_size",
            "Known-user recommendation requests scored together by one matmul + top-k.",
            buckets=(1, 2, 4, 8, 16, 32, 64),
            registry=r,
        )

    def render(self) -> tuple[bytes, str]:
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            registry = CollectorRegistry()
            MultiProcessCollector(registry)
            return generate_latest(registry), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class ObservabilityMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics, log_requests: bool = True) -> None:
        self.app = app
        self.metrics = metrics
        self.log_requests = log_requests

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = _header(scope, b"x-request-id") or uuid.uuid4().hex[:16]
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500  # what the client gets if the app raises before answering

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        self.metrics.in_flight.inc()
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            self.metrics.in_flight.dec()
            # `scope["route"]` is one of the app's own routes (set by its router when a path
            # matches), so its template is from a fixed set; no match is `other`.
            route = getattr(scope.get("route"), "path", None) or OTHER
            method = scope["method"] if scope["method"] in METHODS else OTHER
            self.metrics.latency.labels(route, method, str(status)).observe(elapsed)
            if self.log_requests:
                access_log.info(
                    "request",
                    extra={
                        "fields": {
                            "request_id": request_id,
                            "method": scope["method"][:32],
                            "route": route,
                            "path": scope["path"][:512],
                            "status": status,
                            "duration_ms": round(elapsed * 1000, 3),
                        }
                    },
                )


def _header(scope: Scope, name: bytes) -> str | None:
    """A client's request id, if it is a short token (it is echoed in a response header and
    the logs: nothing else may travel through)."""
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("ascii") if _REQUEST_ID.fullmatch(value) else None
    return None


_REQUEST_ID = re.compile(rb"[A-Za-z0-9._:-]{1,64}")


# ---- JSON logs ---------------------------------------------------------------------------
class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, then the record's `fields`."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            payload.update(fields)
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str, ensure_ascii=False)


def log_config(level: str = "INFO") -> dict[str, Any]:
    """`logging.config.dictConfig` settings: JSON on stderr for ours and uvicorn's loggers.

    uvicorn's own access log is off (`serve` passes access_log=False): ours carries the
    route template, the request id and the duration.
    """
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": f"{__name__}.JsonFormatter"}},
        "handlers": {"json": handler},
        "loggers": {
            "tailgraph": {"handlers": ["json"], "level": level.upper(), "propagate": False},
            "uvicorn": {"handlers": ["json"], "level": level.upper(), "propagate": False},
            "uvicorn.error": {"level": level.upper()},
        },
    }


def configure_logging(level: str = "INFO") -> None:
    """Route `tailgraph.*` logs to stderr as JSON (idempotent)."""
    logger = logging.getLogger("tailgraph")
    logger.setLevel(level.upper())
    if not any(isinstance(h.formatter, JsonFormatter) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
    logger.propagate = False
