"""The service's connection to the graph: lazy, reconnecting, never fatal.

Recommendations never touch the graph (they run on the loaded run), so the service
starts and serves with the graph down. Endpoints that need it (explanations,
recording interactions, adding items) go through `GraphGateway.run`, which opens a
store on first use, drops it on `GraphUnavailable` and reconnects on the next call
(once immediately, so a server restart between two requests costs no failed request).
While the graph stays down every call raises `GraphUnavailable`, which the app answers
with 503; when it comes back the next call succeeds — no restart of the service. A server
that answers but refuses writes (`GraphWriteRefused`: full disk, out of memory) is not
reconnected to: a new connection would be refused alike. The app answers 503 as well.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from tailgraph.kg.cypher_files import repeat_section
from tailgraph.kg.errors import CypherError, GraphUnavailable, GraphWriteRefused
from tailgraph.kg.settings import GraphSettings
from tailgraph.kg.store import GraphStore, open_store

log = logging.getLogger("tailgraph.api.graph")

T = TypeVar("T")


class GraphGateway:
    def __init__(
        self,
        settings: GraphSettings,
        opener: Callable[[GraphSettings], GraphStore] | None = None,
    ) -> None:
        self.settings = settings
        self._open = opener or (lambda s: open_store(s, start=False))
        self._store: GraphStore | None = None
        self._lock = threading.Lock()

    def _connect(self) -> GraphStore:
        with self._lock:
            if self._store is None:
                try:
                    self._store = self._open(self.settings)
                except ValueError as exc:  # e.g. a malformed TAILGRAPH_GRAPH_URI
                    raise GraphUnavailable(str(exc)) from exc
                log.info("graph connected", extra={"fields": {"graph": self.settings.graph_name}})
            return self._store

    def _discard(self, store: GraphStore) -> None:
        with self._lock:
            if self._store is store:
                self._store = None
        # A dead connection may fail to close; it is gone either way.
        with contextlib.suppress(Exception):
            store.close()

    def run(
        self, name: str, params: Mapping[str, Any] | None = None, **identifiers: str
    ) -> list[dict[str, Any]]:
        """`GraphStore.run_named`, reconnecting once if the connection broke."""
        return self._attempt(name, lambda store: store.run_named(name, params, **identifiers))

    def run_repeated(
        self, name: str, params: Mapping[str, Any], groups: Sequence[Mapping[str, str]]
    ) -> list[dict[str, Any]]:
        """A named statement with its `// repeat` section written once per group of
        identifiers (`kg.cypher_files.repeat_section`): one statement, one transaction."""

        def call(store: GraphStore) -> list[dict[str, Any]]:
            try:
                return store.run(repeat_section(store.statement(name), groups), params)
            except CypherError as exc:
                raise CypherError(name, str(exc)) from exc

        return self._attempt(name, call)

    def _attempt(self, name: str, call: Callable[[GraphStore], T]) -> T:
        for attempt in range(2):
            store = self._connect()
            try:
                return call(store)
            except GraphWriteRefused as exc:
                log.warning(
                    "graph refuses writes", extra={"fields": {"statement": name, "error": str(exc)}}
                )
                raise
            except GraphUnavailable as exc:
                self._discard(store)
                log.warning(
                    "graph unavailable", extra={"fields": {"statement": name, "error": str(exc)}}
                )
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def up(self) -> bool:
        try:
            store = self._connect()
        except GraphUnavailable:
            return False
        if store.ping():
            return True
        self._discard(store)
        return False

    def close(self) -> None:
        with self._lock:
            store, self._store = self._store, None
        if store is not None:
            store.close()
