"""A real trained run and real graphs for the API tests.

Once per session: the built-in "tiny" sample is imported into a graph on the session's
embedded server, snapshotted, and Tailgraph is trained on it for a few epochs with the
real MiniLM encoder (`gnn.harness.run_comparison`), then written with `write_run` — the
same artifacts `tailgraph train` produces. A second run (another seed) serves the reload
tests. Tests that write to the graph get a fresh graph with the same sample, so they
never see each other's interactions or items; that graph is on each backend in turn
(embedded FalkorDB, the test Neo4j), so every graph-backed endpoint is tested on both.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tailgraph.api.service import ServiceSettings, create_app
from tailgraph.encoders import TextEncoder
from tailgraph.gnn.harness import HarnessConfig, run_comparison
from tailgraph.gnn.run_dir import write_run
from tailgraph.gnn.train import TrainConfig
from tailgraph.kg.importer import import_dataset
from tailgraph.kg.sample import generate_sample
from tailgraph.kg.settings import GraphSettings
from tailgraph.kg.snapshot import GraphSnapshot, take_snapshot
from tailgraph.kg.store import GraphStore, open_store

from tests.conftest import neo4j_settings

SAMPLE = ("tiny", 0)


def import_sample(settings: GraphSettings, journal: Path) -> None:
    with open_store(settings) as store:
        store.run("MATCH (n) DETACH DELETE n")
        import_dataset(generate_sample(*SAMPLE), store, journal)


@pytest.fixture(scope="session")
def api_encoder() -> TextEncoder:
    return TextEncoder()


@pytest.fixture(scope="session")
def api_graph(server_home: Path, tmp_path_factory: pytest.TempPathFactory) -> GraphSettings:
    """The sample in a graph of its own on the session server; tests here only read it."""
    settings = GraphSettings(home=server_home, graph_name=f"api_{uuid.uuid4().hex[:8]}")
    import_sample(settings, tmp_path_factory.mktemp("api-journal"))
    return settings


@pytest.fixture(scope="session")
def api_snapshot(api_graph: GraphSettings) -> GraphSnapshot:
    with open_store(api_graph) as store:
        return take_snapshot(store)


def _train(
    snapshot: GraphSnapshot, encoder: TextEncoder, cache: Path, out: Path, seed: int
) -> Path:
    config = HarnessConfig(
        seed=seed,
        models=("tailgraph",),
        train=TrainConfig(epochs=6, patience=3, progress=False),
    )
    result = run_comparison(snapshot, config, "sample-tiny", encoder, cache, verbose=False)
    assert result.model is not None
    return write_run(
        out,
        snapshot,
        result.model,
        result.data,
        result.metrics,
        {"dataset": "sample-tiny", "harness": config.as_dict()},
    )


@pytest.fixture(scope="session")
def run_dir(
    api_snapshot: GraphSnapshot, api_encoder: TextEncoder, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    base = tmp_path_factory.mktemp("api-runs")
    return _train(api_snapshot, api_encoder, base / "embeddings", base / "run-a", seed=0)


@pytest.fixture(scope="session")
def second_run_dir(api_snapshot: GraphSnapshot, api_encoder: TextEncoder, run_dir: Path) -> Path:
    return _train(
        api_snapshot, api_encoder, run_dir.parent / "embeddings", run_dir.parent / "run-b", seed=1
    )


@pytest.fixture
def writable_graph(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[GraphSettings]:
    """A fresh copy of the sample graph for a test that writes (interactions, items), on each
    backend: the graph-backed endpoints run against FalkorDB and against Neo4j."""
    if backend == "neo4j":
        settings = neo4j_settings(request.getfixturevalue("neo4j_server"), tmp_path / "home")
    else:
        server_home = request.getfixturevalue("server_home")
        settings = GraphSettings(home=server_home, graph_name=f"api_w_{uuid.uuid4().hex[:8]}")
    import_sample(settings, tmp_path / "journal")
    yield settings
    with open_store(settings, start=False) as store:
        store.run("MATCH (n) DETACH DELETE n")


ClientFactory = Callable[..., TestClient]


@pytest.fixture
def make_client(api_encoder: TextEncoder, run_dir: Path) -> Iterator[ClientFactory]:
    """Build a started TestClient: `make_client(graph, **settings)`; closed after the test.

    Requests come from `peer` (default a loopback address, as an operator's own tools on the
    server would: without an API key, /admin answers only loopback clients).
    """
    opened: list[TestClient] = []

    def build(
        graph: GraphSettings,
        raise_server_exceptions: bool = True,
        peer: tuple[str, int] = ("127.0.0.1", 50000),
        **overrides: Any,
    ) -> TestClient:
        settings = ServiceSettings(
            **{"run_dir": run_dir, "graph": graph, "access_log": False, **overrides}
        )
        client = TestClient(
            create_app(settings, encoder=api_encoder),
            raise_server_exceptions=raise_server_exceptions,
            client=peer,
        )
        client.__enter__()
        opened.append(client)
        return client

    yield build
    for client in opened:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: ClientFactory, api_graph: GraphSettings) -> TestClient:
    """A client over the shared (read-only) sample graph."""
    return make_client(api_graph)


@pytest.fixture
def writer(make_client: ClientFactory, writable_graph: GraphSettings) -> TestClient:
    """A client over a fresh graph of its own: free to record interactions and add items."""
    return make_client(writable_graph)


def runtime_of(client: TestClient) -> Any:
    return client.app.state.runtime  # type: ignore[attr-defined]


def graph_store(settings: GraphSettings) -> GraphStore:
    return open_store(settings, start=False)
