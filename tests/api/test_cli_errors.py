"""An operator's mistake with `TAILGRAPH_HOME` gets one line naming the path, never a traceback.

A home that cannot be written — it lies under a regular file, the server's log cannot be
created, the import journal or the embedding cache folder cannot be made — must make
`db start`, `import`, `cypher` and `encode` exit non-zero with a single `error: ...` line.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from tailgraph.kg.embedded import EmbeddedServer
from tailgraph.kg.sample import write_sample

COMMANDS = {
    "db start": ["db", "start"],
    "import": ["import", "DATA"],
    "cypher": ["cypher", "most_popular_items", "-p", "limit=3"],
    "encode": ["encode"],
}


def tailgraph(args: list[str], home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TAILGRAPH_HOME": str(home), "TAILGRAPH_GRAPH_NAME": "cli_errors"}
    return subprocess.run(
        [sys.executable, "-m", "tailgraph.api.cli", *args],
        capture_output=True, text=True, env=env, check=False, timeout=300,
    )  # fmt: skip


def assert_one_line_error(result: subprocess.CompletedProcess[str], path: Path) -> None:
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert str(path) in lines[0], lines[0]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli-errors") / "sample"
    write_sample(path, size="tiny", seed=0)
    return path


def _args(name: str, data_dir: Path) -> list[str]:
    return [str(data_dir) if arg == "DATA" else arg for arg in COMMANDS[name]]


@pytest.mark.slow
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_home_under_a_regular_file(command: str, tmp_path: Path, data_dir: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where a folder should be")
    home = blocker / "home"
    assert_one_line_error(tailgraph(_args(command, data_dir), home), home)


@pytest.mark.slow
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_home_where_the_server_cannot_write_its_log(
    command: str, tmp_path: Path, data_dir: Path
) -> None:
    # redis-server itself fails to start (what a read-only home does to it).
    home = tmp_path / "home"
    (home / "falkordb.log").mkdir(parents=True)
    assert_one_line_error(tailgraph(_args(command, data_dir), home), home)


@pytest.fixture
def running_home(tmp_path: Path) -> Iterator[Path]:
    server = EmbeddedServer(tmp_path / "home")
    server.start()
    yield server.home
    pid = server.status().pid
    if pid is not None:
        os.kill(pid, signal.SIGTERM)


@pytest.mark.slow
@pytest.mark.parametrize(("command", "folder"), [("import", "imports"), ("encode", "embeddings")])
def test_a_folder_under_home_that_cannot_be_made(
    command: str, folder: str, running_home: Path, data_dir: Path
) -> None:
    # The server runs; what the command itself writes under the home cannot be created.
    (running_home / folder).write_text("a file where a folder should be")
    result = tailgraph(_args(command, data_dir), running_home)
    assert_one_line_error(result, running_home / folder)
