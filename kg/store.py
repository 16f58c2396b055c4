"""One small graph-store interface, two backends chosen by URI.

`GraphStore` runs a Cypher statement with parameters (`run`), runs it over many
rows in UNWIND batches (`run_batches`), and streams a paged query (`stream`);
results are plain dicts, whatever the backend. Statements are looked up by name
in `cypher/` with `run_named`, which picks a per-backend variant when one exists.

Backends:
- `FalkorDBStore`: the embedded default, FalkorDB's native (Redis) protocol over
  the unix socket of the server `kg.embedded` started.
- `Neo4jStore`: Neo4j 5 through the official driver (`execute_query`), retrying
  transient errors (deadlocks, leader changes, dropped connections) for
  `neo4j_max_retry_s`, reporting a server that refuses the connection at once.
  It shares every statement and all the code above `_execute` with the embedded
  path, and the suite runs both against real servers (tests/neo4j/).

Graph nodes/relationships/paths in results become dicts: a node is its
properties plus `_labels`, a relationship its properties plus `_type`.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from tailgraph.kg.cypher_files import fill_identifiers, load_statement, split_statements
from tailgraph.kg.errors import CypherError, GraphUnavailable, GraphWriteRefused
from tailgraph.kg.settings import GraphSettings

Row = dict[str, Any]


class GraphStore(ABC):
    backend: str

    @abstractmethod
    def _execute(self, statement: str, params: Mapping[str, Any]) -> list[Row]:
        """Send one statement; return its rows as dicts."""

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> GraphStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run(self, statement: str, params: Mapping[str, Any] | None = None) -> list[Row]:
        return self._execute(statement, dict(params or {}))

    def statement(self, name: str, **identifiers: str) -> str:
        """The text of a named statement for this backend, placeholders filled."""
        text = load_statement(name, self.backend)
        return fill_identifiers(text, **identifiers) if identifiers else text

    def run_named(
        self, name: str, params: Mapping[str, Any] | None = None, **identifiers: str
    ) -> list[Row]:
        try:
            return self.run(self.statement(name, **identifiers), params)
        except CypherError as exc:
            raise CypherError(name, str(exc)) from exc

    def run_script(self, name: str) -> int:
        """Run every `;`-separated statement of a named file (schema set-up). Idempotent."""
        statements = split_statements(self.statement(name))
        for statement in statements:
            try:
                self.run(statement)
            except CypherError as exc:
                # FalkorDB has no `IF NOT EXISTS` for indexes; an existing one is fine.
                if "already indexed" not in str(exc):
                    raise
        return len(statements)

    def run_batches(
        self,
        statement: str,
        rows: Sequence[Mapping[str, Any]],
        batch_size: int,
        on_batch: Callable[[int, int], None] | None = None,
        start_batch: int = 0,
    ) -> int:
        """`UNWIND $rows` in batches of `batch_size`; `on_batch(batch_no, n_rows)` after each.

        `start_batch` skips batches a previous (interrupted) run already wrote.
        """
        written = 0
        for batch_no, start in enumerate(range(0, len(rows), batch_size)):
            if batch_no < start_batch:
                continue
            batch = list(rows[start : start + batch_size])
            self._execute(statement, {"rows": batch})
            written += len(batch)
            if on_batch is not None:
                on_batch(batch_no, len(batch))
        return written

    def stream(
        self, statement: str, params: Mapping[str, Any] | None = None, page_size: int = 20_000
    ) -> Iterator[Row]:
        """Page through a statement that ends in `SKIP $skip LIMIT $limit` (ordered)."""
        skip = 0
        while True:
            page = self._execute(statement, {**(params or {}), "skip": skip, "limit": page_size})
            yield from page
            if len(page) < page_size:
                return
            skip += page_size

    def stream_named(
        self, name: str, params: Mapping[str, Any] | None = None, page_size: int = 20_000
    ) -> Iterator[Row]:
        return self.stream(self.statement(name), params, page_size)

    @abstractmethod
    def checkpoint(self) -> None:
        """Make what was written quick to recover on the next start (after bulk writes)."""

    def ping(self) -> bool:
        try:
            self._execute("RETURN 1 AS ok", {})
            return True
        except GraphUnavailable:
            return False


class FalkorDBStore(GraphStore):
    backend = "falkordb"

    def __init__(self, socket_path: str, graph_name: str, timeout_s: float = 120.0) -> None:
        from falkordb import FalkorDB

        self._db = FalkorDB(unix_socket_path=socket_path, socket_timeout=timeout_s)
        self._graph = self._db.select_graph(graph_name)
        self.graph_name = graph_name

    def _execute(self, statement: str, params: Mapping[str, Any]) -> list[Row]:
        import redis

        try:
            result = self._graph.query(statement, dict(params))
        except (redis.ConnectionError, redis.TimeoutError, FileNotFoundError) as exc:
            raise GraphUnavailable(f"embedded graph server unreachable: {exc}") from exc
        except redis.ResponseError as exc:
            refused = _write_refusal(exc)
            if refused is not None:
                raise GraphWriteRefused(refused) from exc
            raise CypherError("statement", str(exc)) from exc
        if not result.header:
            return []
        names = [column[1] for column in result.header]
        return [
            {name: _falkordb_value(value) for name, value in zip(names, row, strict=True)}
            for row in result.result_set
        ]

    def close(self) -> None:
        self._db.connection.close()

    def checkpoint(self) -> None:
        import redis
        from tailgraph.kg.embedded import compact_log

        try:
            compact_log(self._db.connection)
        except (redis.ConnectionError, redis.TimeoutError, FileNotFoundError) as exc:
            raise GraphUnavailable(f"embedded graph server unreachable: {exc}") from exc


def _write_refusal(exc: Exception) -> str | None:
    """Why the server refuses writes, when that is the error (it may pass later), else None.

    FalkorDB's GRAPH.QUERY is a write command to Redis, so these refuse reads too.
    """
    import redis.exceptions as rx

    text = str(exc)
    if isinstance(exc, rx.OutOfMemoryError):
        return "the embedded graph server is out of memory (maxmemory)"
    if isinstance(exc, rx.ReadOnlyError):
        return "the embedded graph server is read-only (a replica)"
    if text.startswith("MISCONF"):
        return "the embedded graph server cannot persist to its disk (MISCONF: full or failing)"
    return None


def _falkordb_value(value: Any) -> Any:
    from falkordb.edge import Edge
    from falkordb.node import Node
    from falkordb.path import Path as FalkorPath

    if isinstance(value, Node):
        return {**value.properties, "_labels": list(value.labels or [])}
    if isinstance(value, Edge):
        return {**value.properties, "_type": value.relation}
    if isinstance(value, FalkorPath):
        return {
            "nodes": [_falkordb_value(n) for n in value.nodes()],
            "relationships": [_falkordb_value(e) for e in value.edges()],
        }
    if isinstance(value, list):
        return [_falkordb_value(v) for v in value]
    if isinstance(value, dict):
        return {k: _falkordb_value(v) for k, v in value.items()}
    return value


class Neo4jStore(GraphStore):
    """Neo4j 5 through the official driver; see docs/decisions.md (issue 12) for each
    difference from the embedded backend that this class absorbs."""

    backend = "neo4j"

    def __init__(
        self, uri: str, user: str, password: str, database: str | None, max_retry_s: float = 30.0
    ) -> None:
        import neo4j

        self._driver = neo4j.GraphDatabase.driver(
            uri,
            auth=(user, password),
            # Retries are ours (`_execute`): the driver's would also retry a server that
            # refuses the connection, for the whole budget, before anyone hears it is down.
            max_transaction_retry_time=0,
            connection_timeout=min(max_retry_s, 30.0) or 1.0,
            # Our statements are linted and read optional properties on purpose; the server's
            # "property key does not exist" notifications would be logged on every call.
            notifications_min_severity="OFF",
        )
        self._uri, self._user, self._database = uri, user, database
        self._max_retry_s = max_retry_s

    def _execute(self, statement: str, params: Mapping[str, Any]) -> list[Row]:
        import neo4j.exceptions as nx

        deadline = time.monotonic() + self._max_retry_s
        delay = 0.1
        while True:
            try:
                records, _, _ = self._driver.execute_query(
                    statement, parameters_=dict(params), database_=self._database
                )
                return [
                    {key: _neo4j_value(value) for key, value in record.items()}
                    for record in records
                ]
            except nx.ClientError as exc:
                # A wrong password, and after three of them Neo4j's rate limit (a plain
                # ClientError, not an AuthError): the graph is unusable until the settings
                # are fixed, not a bad statement.
                if isinstance(exc, nx.AuthError) or str(exc.code).startswith(
                    "Neo.ClientError.Security."
                ):
                    raise GraphUnavailable(
                        f"Neo4j at {self._uri} refused the credentials of user {self._user!r} "
                        f"(TAILGRAPH_NEO4J_USER / TAILGRAPH_NEO4J_PASSWORD): {exc.code}: "
                        f"{exc.message}"
                    ) from exc
                raise CypherError("statement", f"{exc.code}: {exc.message}") from exc
            except (nx.ServiceUnavailable, nx.SessionExpired) as exc:
                if _refused(exc) or time.monotonic() + delay > deadline:
                    raise GraphUnavailable(
                        f"Neo4j at {self._uri} unreachable: {_one_line(exc)}"
                    ) from exc
            except nx.Neo4jError as exc:
                if not exc.is_retryable() or time.monotonic() + delay > deadline:
                    if isinstance(exc, nx.TransientError):  # e.g. a database still starting
                        raise GraphUnavailable(
                            f"Neo4j at {self._uri}: {exc.code}: {exc.message}"
                        ) from exc
                    raise CypherError("statement", f"{exc.code}: {exc.message}") from exc
            except nx.DriverError as exc:  # e.g. a value the driver cannot send
                raise CypherError("statement", _one_line(exc)) from exc
            time.sleep(delay)
            delay = min(2 * delay, 2.0)

    def close(self) -> None:
        self._driver.close()

    def checkpoint(self) -> None:
        """Nothing to do: the Neo4j server checkpoints its own transaction log."""


def _refused(exc: BaseException) -> bool:
    """Whether a driver error comes from a refused connection (nothing listens: the server
    is down), rather than from a dropped connection or a cluster changing leaders."""
    todo: list[BaseException] = [exc]
    seen: set[int] = set()
    while todo:
        error = todo.pop()
        if id(error) in seen:
            continue
        seen.add(id(error))
        if isinstance(error, ConnectionRefusedError):
            return True
        if isinstance(error, BaseExceptionGroup):
            todo.extend(error.exceptions)
        todo.extend(e for e in (error.__cause__, error.__context__) if e is not None)
    return False


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def _neo4j_value(value: Any) -> Any:
    from neo4j.graph import Node, Path, Relationship

    if isinstance(value, Node):
        return {**dict(value), "_labels": sorted(value.labels)}
    if isinstance(value, Relationship):
        return {**dict(value), "_type": value.type}
    if isinstance(value, Path):
        return {
            "nodes": [_neo4j_value(n) for n in value.nodes],
            "relationships": [_neo4j_value(r) for r in value.relationships],
        }
    if isinstance(value, list):
        return [_neo4j_value(v) for v in value]
    if isinstance(value, dict):
        return {k: _neo4j_value(v) for k, v in value.items()}
    return value


def open_store(settings: GraphSettings | None = None, *, start: bool = True) -> GraphStore:
    """Connect to the configured graph; start the embedded server if needed and allowed."""
    settings = settings or GraphSettings()
    if settings.backend == "neo4j":
        assert settings.graph_uri is not None
        return Neo4jStore(
            settings.graph_uri,
            settings.neo4j_user,
            settings.neo4j_password.get_secret_value(),
            settings.neo4j_database,
            settings.neo4j_max_retry_s,
        )
    from tailgraph.kg.embedded import EmbeddedServer

    server = EmbeddedServer(settings.home)
    if start:
        server.start()
    elif not server.status().running:
        raise GraphUnavailable(
            f"embedded graph server under {server.home} is not running; "
            "start it with `tailgraph db start`"
        )
    return FalkorDBStore(server.socket_path, settings.graph_name, settings.query_timeout_s)
