"""The GraphStore interface against the real embedded server, and backend selection."""

from __future__ import annotations

import pytest
from tailgraph.kg.errors import CypherError, GraphUnavailable
from tailgraph.kg.settings import GraphSettings
from tailgraph.kg.store import GraphStore, Neo4jStore, open_store


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
    with pytest.raises(CypherError):
        store.run("MATCH (n RETURN n")


def test_named_statement_picks_backend_variant(store: GraphStore) -> None:
    assert "CREATE INDEX FOR" in store.statement("schema")  # the falkordb variant
    assert store.run_script("schema") == 3
    assert store.run_script("schema") == 3  # idempotent: existing indexes are fine


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


def test_neo4j_backend_reports_unreachable_server_as_graph_unavailable() -> None:
    # Nothing listens on port 1: the driver path runs for real and fails cleanly.
    settings = GraphSettings(
        graph_uri="bolt://127.0.0.1:1", neo4j_password="x", neo4j_max_retry_s=0
    )
    with open_store(settings) as graph:
        assert isinstance(graph, Neo4jStore)
        assert graph.ping() is False
        with pytest.raises(GraphUnavailable):
            graph.run("RETURN 1 AS one")
