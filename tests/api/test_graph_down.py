"""The graph goes away and comes back: recommendations keep serving, graph endpoints 503,
then recover by themselves — on a server of the test's own (the session one stays up), on
each backend: an embedded FalkorDB server, and a Neo4j server stopped and restarted on the
same port and data directory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import pytest
from fastapi.testclient import TestClient
from tailgraph.kg.embedded import EmbeddedServer
from tailgraph.kg.settings import GraphSettings

from tests.api.conftest import ClientFactory, import_sample
from tests.conftest import neo4j_settings, start_neo4j
from tests.neo4j.server import Neo4jServer


class Server(Protocol):
    def start(self) -> object: ...
    def stop(self) -> None: ...


class _Embedded:
    def __init__(self, server: EmbeddedServer) -> None:
        self.server = server

    def start(self) -> None:
        self.server.start()

    def stop(self) -> None:
        self.server.stop()
        assert not self.server.status().running


@pytest.fixture
def own_server(backend: str, tmp_path: Path) -> Iterator[tuple[Server, GraphSettings]]:
    server: Server
    if backend == "neo4j":
        neo4j = start_neo4j(tmp_path / "neo4j-home")
        # The default retry budget (30 s): a stopped Neo4j must still be a 503 at once.
        server, settings = neo4j, neo4j_settings(neo4j, tmp_path / "home", neo4j_max_retry_s=30)
    else:
        embedded = EmbeddedServer(tmp_path / "graph-home")
        embedded.start()
        server, settings = _Embedded(embedded), GraphSettings(home=embedded.home, graph_name="down")
    import_sample(settings, tmp_path / "journal")
    yield server, settings
    server.stop()


def _graph_503(response: object) -> None:
    assert response.status_code == 503, response.text  # type: ignore[attr-defined]
    assert response.json()["detail"][0]["loc"] == ["graph"]  # type: ignore[attr-defined]
    assert response.headers["retry-after"] == "5"  # type: ignore[attr-defined]


@pytest.mark.slow
def test_recommendations_survive_the_graph_and_writes_recover(
    make_client: ClientFactory, own_server: tuple[Server, GraphSettings]
) -> None:
    server, settings = own_server
    client: TestClient = make_client(settings)
    user = "u00009"
    explain = f"/users/{user}/recommendations/b00052/explanation"
    recs = client.get(f"/users/{user}/recommendations", params={"k": 10}).json()["items"]
    assert client.get(explain).status_code == 200

    server.stop()
    # Everything served from the loaded run still works, unchanged.
    assert client.get(f"/users/{user}/recommendations", params={"k": 10}).json()["items"] == recs
    assert client.get("/items/b00001/similar").status_code == 200
    assert client.get("/items/b00001").status_code == 200
    anonymous = client.post("/recommendations", json={"item_ids": ["b00001"], "query": "spies"})
    assert anonymous.status_code == 200
    ready = client.get("/ready")
    assert ready.status_code == 200 and ready.json()["graph"] == "down"
    # What needs the graph says so, and changes nothing in memory.
    _graph_503(client.get(explain))
    _graph_503(client.post(f"/users/{user}/interactions", json={"item_id": recs[0]["item_id"]}))
    assert client.get(f"/users/{user}/recommendations", params={"k": 10}).json()["items"] == recs
    _graph_503(
        client.post(
            "/items",
            json={
                "id": "b98888",
                "title": "Lost",
                "links": [{"relation": "HAS_GENRE", "target": "genre:horror"}],
            },
        )
    )
    assert client.get("/items/b98888").status_code == 404
    metrics = client.get("/metrics").text
    assert "tailgraph_graph_unavailable_total 3.0" in metrics

    server.start()  # same data directory: the graph is back, the app was never restarted
    assert client.get(explain).status_code == 200
    recorded = client.post(f"/users/{user}/interactions", json={"item_id": recs[0]["item_id"]})
    assert recorded.status_code == 201
    added = client.post(
        "/items",
        json={
            "id": "b98888",
            "title": "Found",
            "links": [{"relation": "HAS_GENRE", "target": "genre:horror"}],
        },
    )
    assert added.status_code == 201
    assert client.get("/ready").json()["graph"] == "up"
    after = client.get(f"/users/{user}/recommendations", params={"k": 10}).json()["items"]
    assert recs[0]["item_id"] not in {item["item_id"] for item in after}


@pytest.mark.neo4j
def test_a_wrong_neo4j_password_is_503_not_500(
    make_client: ClientFactory, neo4j_server: Neo4jServer, tmp_path: Path
) -> None:
    settings = neo4j_settings(neo4j_server, tmp_path / "home", neo4j_password="wrong-password")
    client = make_client(settings, raise_server_exceptions=False)
    _graph_503(client.post("/users/u00009/interactions", json={"item_id": "b00001"}))
    assert client.get("/ready").json()["graph"] == "down"
    assert client.get("/users/u00009/recommendations", params={"k": 3}).status_code == 200
