"""The graph answers but cannot write (disk error, out of memory), or stops in the middle of
an add: 503 with `Retry-After`, never a 500, and never half an item in the graph.

Each test runs its own embedded server (the session one stays healthy). Faults are real:
- *disk error*: the server's data folder is removed and a snapshot forced, so Redis refuses
  every write with `MISCONF` (what a full or failing disk gives), until snapshots are off;
- *out of memory*: `maxmemory` below what the server uses, so writes get `OOM`;
- *stopped*: the server is stopped between two statements of one request.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient
from tailgraph.api.service.graph import GraphGateway
from tailgraph.kg.embedded import EmbeddedServer
from tailgraph.kg.settings import GraphSettings
from tailgraph.kg.store import FalkorDBStore, open_store

from tests.api.conftest import ClientFactory, import_sample, runtime_of

ITEM = {
    "id": "b91234",
    "title": "The Salt Archive",
    "description": "A mystery set in a flooded library.",
    "attributes": {"year": 2030},
    "links": [
        {"relation": "HAS_GENRE", "target": "genre:horror"},
        {"relation": "ABOUT", "target": "theme:haunted-houses"},
        {"relation": "WRITTEN_BY", "target": "author:hana-yamada"},
    ],
}


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[tuple[EmbeddedServer, GraphSettings]]:
    server = EmbeddedServer(tmp_path / "graph-home")
    server.start()
    settings = GraphSettings(home=server.home, graph_name="faults")
    import_sample(settings, tmp_path / "journal")
    yield server, settings
    # Its data folder may be gone (and its PING refused): no compaction, just stop it.
    with contextlib.suppress(FileNotFoundError, ProcessLookupError, ValueError):
        pid = int(server.pid_file.read_text())
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            os.kill(pid, 0)  # ProcessLookupError once it is gone
            time.sleep(0.05)


def _client(server: EmbeddedServer) -> redis.Redis:
    return redis.Redis(unix_socket_path=server.socket_path)


@contextlib.contextmanager
def disk_error(server: EmbeddedServer) -> Iterator[None]:
    client = _client(server)
    shutil.rmtree(server.data_dir)
    client.config_set("save", "3600 1")
    client.bgsave()
    while client.info("persistence")["rdb_bgsave_in_progress"]:
        time.sleep(0.02)
    assert client.info("persistence")["rdb_last_bgsave_status"] == "err"
    try:
        yield
    finally:
        client.config_set("save", "")  # no snapshot points: Redis takes writes again
        client.close()


@contextlib.contextmanager
def out_of_memory(server: EmbeddedServer) -> Iterator[None]:
    client = _client(server)
    client.config_set("maxmemory", "1")
    try:
        yield
    finally:
        client.config_set("maxmemory", "0")
        client.close()


FAULTS = {"disk error": disk_error, "out of memory": out_of_memory}


def _graph_503(response: Any) -> None:
    assert response.status_code == 503, response.text
    assert response.json()["detail"][0]["loc"] == ["graph"]
    assert int(response.headers["retry-after"]) > 0


def _item_in_graph(settings: GraphSettings, item_id: str) -> tuple[int, set[tuple[str, str]]]:
    with open_store(settings, start=False) as store:
        nodes = store.run("MATCH (i:Item {id: $id}) RETURN count(i) AS n", {"id": item_id})
        links = store.run(
            "MATCH (:Item {id: $id})-[r]->(t) RETURN type(r) AS relation, t.id AS target",
            {"id": item_id},
        )
    return int(nodes[0]["n"]), {(row["relation"], row["target"]) for row in links}


EXPECTED_LINKS = {(link["relation"], link["target"]) for link in ITEM["links"]}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_a_graph_that_cannot_write_gives_503_and_recommendations_go_on(
    make_client: ClientFactory, own_server: tuple[EmbeddedServer, GraphSettings], fault: str
) -> None:
    server, settings = own_server
    client: TestClient = make_client(settings, raise_server_exceptions=False)
    user = "u00009"
    explain = f"/users/{user}/recommendations/b00052/explanation"
    recs = client.get(f"/users/{user}/recommendations", params={"k": 10}).json()["items"]
    with FAULTS[fault](server):
        ready = client.get("/ready")
        assert ready.status_code == 200, ready.text  # a loaded run is ready
        assert ready.json()["graph"] == "down"
        _graph_503(client.post("/items", json=ITEM))
        _graph_503(client.post(f"/users/{user}/interactions", json={"item_id": "b00001"}))
        _graph_503(client.get(explain))
        assert (
            client.get(f"/users/{user}/recommendations", params={"k": 10}).json()["items"] == recs
        )
    assert _item_in_graph(settings, ITEM["id"]) == (0, set())  # the refused add wrote nothing
    assert client.get("/items/" + ITEM["id"]).status_code == 404
    # The fault is gone: the same requests succeed, no restart of the service.
    assert client.get("/ready").json()["graph"] == "up"
    assert client.post("/items", json=ITEM).status_code == 201
    assert _item_in_graph(settings, ITEM["id"]) == (1, EXPECTED_LINKS)
    assert client.get(explain).status_code == 200


class FaultyStore(FalkorDBStore):
    """The real embedded store; `fault()` runs just before the `at`-th statement it sends."""

    def __init__(self, socket_path: str, graph_name: str, at: int, fault: Callable[[], None]):
        super().__init__(socket_path, graph_name, timeout_s=5.0)
        self.sent = 0
        self.at = at
        self.fault = fault

    def _execute(self, statement: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        self.sent += 1
        if self.sent == self.at:
            self.fault()
        return super()._execute(statement, params)


@pytest.mark.parametrize("how", ["stopped", "disk error"])
@pytest.mark.parametrize("at", [1, 2, 3, 4])
def test_an_add_that_fails_midway_leaves_nothing_and_a_retry_succeeds(
    make_client: ClientFactory,
    own_server: tuple[EmbeddedServer, GraphSettings],
    how: str,
    at: int,
) -> None:
    # The graph fails before the `at`-th statement the add sends (1 = its first).
    server, settings = own_server
    client: TestClient = make_client(settings, raise_server_exceptions=False)
    runtime = runtime_of(client)
    faults = contextlib.ExitStack()

    def fault() -> None:
        if how == "stopped":
            server.stop()
        else:
            faults.enter_context(disk_error(server))

    store = FaultyStore(server.socket_path, settings.graph_name, at, fault)
    runtime.graph = GraphGateway(settings, opener=lambda _settings: store)
    first = client.post("/items", json=ITEM)
    assert first.status_code in (201, 503), first.text
    # Restore the graph (same data folder for a stopped server).
    if how == "stopped" and not server.status().running:
        server.start()
    faults.close()
    runtime.graph = GraphGateway(settings)
    count, links = _item_in_graph(settings, ITEM["id"])
    if first.status_code == 201:
        assert (count, links) == (1, EXPECTED_LINKS)
        return
    _graph_503(first)
    assert (count, links) == (0, set()), "a failed add left part of the item in the graph"
    assert client.get("/items/" + ITEM["id"]).status_code == 404
    retry = client.post("/items", json=ITEM)
    assert retry.status_code == 201, retry.text
    assert _item_in_graph(settings, ITEM["id"]) == (1, EXPECTED_LINKS)
    assert {(link["relation"], link["target"]) for link in retry.json()["links"]} == EXPECTED_LINKS


def test_a_retry_of_an_add_the_graph_already_holds_succeeds(
    make_client: ClientFactory, own_server: tuple[EmbeddedServer, GraphSettings]
) -> None:
    # The graph wrote the item but the answer never arrived (a timeout, a dropped
    # connection): the same item again is the same write, not a conflict.
    _, settings = own_server
    client: TestClient = make_client(settings)
    first = client.post("/items", json=ITEM)
    assert first.status_code == 201
    other = make_client(settings)  # a fresh process: the graph has it, the served run not
    again = other.post("/items", json=ITEM)
    assert again.status_code == 201, again.text
    assert again.json() == first.json()
    third = make_client(settings)
    different = third.post("/items", json={**ITEM, "title": "Another Book"})
    assert different.status_code == 409
    assert different.json()["detail"][0]["loc"] == ["body", "id"]
    assert _item_in_graph(settings, ITEM["id"]) == (1, EXPECTED_LINKS)
