"""The request-body size limit, checked before anything reads the body.

A body whose `Content-Length` is over the limit is answered 413 at once: nothing of it is
read or parsed (a 10 MB JSON list used to be parsed, validated and echoed back, stalling
every other request for seconds). A body without a length (chunked) is counted as it is
read, and refused as soon as the count passes the limit. FastAPI's own `max_body_size`
does the same counting, but it answers a too-long `Content-Length` with a plain-text body
once the route has already run (even a GET that never reads its body), so the service
keeps its own check, in front of the routes, in the API's error shape.
"""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooLarge(HTTPException):
    """Raised from `receive` when a chunked body passes the limit; the app's handler for
    HTTP exceptions answers it (FastAPI's body reading lets HTTP exceptions through)."""

    def __init__(self) -> None:
        super().__init__(status_code=413, detail="request body too large")


def too_large_body(limit: int) -> bytes:
    msg = f"the request body is larger than the limit of {limit:,} bytes"
    detail = [{"loc": ["body"], "msg": msg, "type": "body_too_large"}]
    return json.dumps({"detail": detail}).encode()


class BodyLimit:
    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = _content_length(scope)
        if length is not None:
            if length > self.limit:
                await self._refuse(send)
                return
            # The server delivers no more than Content-Length bytes: nothing to count.
            await self.app(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise BodyTooLarge
            return message

        await self.app(scope, counted, send)

    async def _refuse(self, send: Send) -> None:
        body = too_large_body(self.limit)
        # "connection: close": the server then reads none of the rest (draining 10 MB
        # through the HTTP parser cost ~20 ms of the event loop per body). Clients that read
        # while they send get the 413 (36 of 36 in bench/hardening_bench.py).
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the HTTP server refuses such a request before it gets here
    return None
