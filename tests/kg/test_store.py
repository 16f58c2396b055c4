"""The GraphStore interface against both real backends (embedded FalkorDB, Neo4j 5), and
backend selection."""

from __future__ import annotations

import logging

import pytest
from tailgraph.kg.errors import CypherError, GraphUnavailable
from tailgraph.kg.settings import GraphSettings
from tailgraph.kg.store import GraphStore, Neo4jStore, open_store

from tests.neo4j.server import Neo4jServer


def test_run_returns_plain_dicts_with_parameters(store: GraphStore) -> None:
    store.run("CREATE (:Item {id: $id, title: $title})", {"id": "i1", "title": 'say "hi"\nthere'})
    rows = store.run("MATCH (i:Item {id: $id}) RETURN i.title AS title, i", {"id": "i1"})
    assert rows == [
        {
            "title": 'say "hi"\nthere',
            "i": {"id": "i1", "title": 'say "hi"\nthere', "_labels": ["Item"]},
        }
    ]


def test_run_batches_writes_every_row_and_reports_each_batch(store: GraphStore) -> None:
    rows = [{"id": str(i)} for i in range(1234)]
    seen: list[tuple[int, int]] = []
    written = store.run_batches(
        "UNWIND $rows AS row CREATE (:Item {id: row.id})",
        rows,
        500,
        lambda b, n: seen.append((b, n)),
    )
    assert written == 1234
    assert seen == [(0, 500), (1, 500), (2, 234)]
    assert store.run("MATCH (i:Item) RETURN count(i) AS n") == [{"n": 1234}]


def test_run_batches_skips_batches_already_written(store: GraphStore) -> None:
    rows = [{"id": str(i)} for i in range(10)]
    written = store.run_batches(
        "UNWIND $rows AS row CREATE (:Item {id: row.id})", rows, 4, start_batch=2
    )
    assert written == 2
    assert store.run("MATCH (i:Item) RETURN collect(i.id) AS ids") == [{"ids": ["8", "9"]}]


def test_stream_pages_through_all_rows_in_order(store: GraphStore) -> None:
    store.run("UNWIND range(1, 25) AS n CREATE (:Item {id: n})")
    statement = "MATCH (i:Item) RETURN i.id AS id ORDER BY id SKIP $skip LIMIT $limit"
    ids = [row["id"] for row in store.stream(statement, page_size=7)]
    assert ids == list(range(1, 26))


def test_syntax_error_raises_cypher_error(store: GraphStore) -> None:
    with pytest.raises(CypherError) as info:
        store.run("MATCH (n RETURN n")
    # The server's own message, not the driver's dump of every error field.
    assert "Invalid input" in str(info.value) or "Syntax error" in str(info.value)
    assert "gql_status" not in str(info.value)


def test_named_statement_picks_backend_variant(store: GraphStore) -> None:
    expected = {"falkordb": "CREATE INDEX FOR", "neo4j": "CREATE CONSTRAINT item_id IF NOT EXISTS"}
    assert expected[store.backend] in store.statement("schema")
    assert store.run_script("schema") == 3
    assert store.run_script("schema") == 3  # idempotent: existing indexes/constraints are fine


@pytest.mark.parametrize(
    ("uri", "backend"),
    [(None, "falkordb"), ("embedded", "falkordb"), ("neo4j://db:7687", "neo4j"),
     ("bolt://localhost:7687", "neo4j"), ("neo4j+s://x.databases.neo4j.io", "neo4j")],
)  # fmt: skip
def test_backend_is_chosen_by_uri(uri: str | None, backend: str) -> None:
    assert GraphSettings(graph_uri=uri).backend == backend


def test_unknown_uri_scheme_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="expected unset, 'embedded' or one of"):
        _ = GraphSettings(graph_uri="http://localhost:7474").backend


def test_neo4j_backend_reports_unreachable_server_at_once(caplog: pytest.LogCaptureFixture) -> None:
    # Nothing listens on port 1: the driver path runs for real and fails cleanly, after one
    # connection attempt — not after retrying for the whole (default 30 s) retry budget.
    settings = GraphSettings(graph_uri="bolt://127.0.0.1:1", neo4j_password="x")
    with open_store(settings) as graph, caplog.at_level(logging.DEBUG, logger="neo4j"):
        assert isinstance(graph, Neo4jStore)
        with pytest.raises(GraphUnavailable, match=r"bolt://127\.0\.0\.1:1 unreachable"):
            graph.run("RETURN 1 AS one")
        attempts = [r for r in caplog.records if "C: <OPEN>" in r.getMessage()]
        assert len(attempts) == 1
        assert graph.ping() is False


@pytest.mark.neo4j
def test_neo4j_wrong_password_is_graph_unavailable_naming_the_setting(
    neo4j_server: Neo4jServer,
) -> None:
    settings = GraphSettings(graph_uri=neo4j_server.uri, neo4j_password="not-the-password")
    with open_store(settings) as graph:
        # From the fourth failed attempt on, Neo4j answers with its rate limit instead.
        for _ in range(5):
            with pytest.raises(GraphUnavailable, match="TAILGRAPH_NEO4J_PASSWORD"):
                graph.run("RETURN 1 AS one")
        assert graph.ping() is False


def test_reading_a_property_no_node_has_logs_nothing(
    store: GraphStore, caplog: pytest.LogCaptureFixture
) -> None:
    # Our statements read optional properties (weight, kind, ...) that a dataset may lack;
    # Neo4j answers such reads with a notification the driver would log as a warning.
    store.run("CREATE (:Item {id: 'i1'})")
    with caplog.at_level(logging.INFO):
        assert store.run("MATCH (i:Item) RETURN i.no_such_property AS x") == [{"x": None}]
    assert [r.getMessage() for r in caplog.records if r.name.startswith("neo4j")] == []
