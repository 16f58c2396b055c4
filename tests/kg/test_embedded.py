"""The embedded server lifecycle: start, reuse, status, stop, data surviving a restart."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kg.embedded import EmbeddedServer
from kg.errors import GraphUnavailable
from kg.settings import GraphSettings
from kg.store import open_store


def tailgraph(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "api.cli", *args],
        capture_output=True, text=True, env={**os.environ, **env}, check=False,
    )  # fmt: skip


def test_start_reuse_stop_and_data_survives_restart(tmp_path: Path) -> None:
    server = EmbeddedServer(tmp_path / "home")
    assert server.start() is True
    assert server.start() is False  # already running: reused
    pid = server.status().pid
    settings = GraphSettings(home=tmp_path / "home")
    with open_store(settings) as store:
        store.run("UNWIND range(1, 100) AS n CREATE (:Item {id: toString(n), title: 'x'})")
    assert server.stop() is True
    assert server.status().running is False
    with pytest.raises(GraphUnavailable):
        open_store(settings, start=False)
    assert server.start() is True
    assert server.status().pid != pid
    with open_store(settings, start=False) as store:
        assert store.run("MATCH (i:Item) RETURN count(i) AS n") == [{"n": 100}]
    server.stop()


def test_db_commands_start_status_stop_persist(tmp_path: Path) -> None:
    env = {"TAILGRAPH_HOME": str(tmp_path / "h")}
    assert "started" in tailgraph("db", "start", env=env).stdout
    assert "already running" in tailgraph("db", "start", env=env).stdout
    with open_store(GraphSettings(home=tmp_path / "h")) as store:
        store.run("CREATE (:Item {id: 'a', title: 'A'})")
    status = json.loads(tailgraph("db", "status", "--json", env=env).stdout)
    assert status["running"] is True
    assert status["counts"] == {"(:Item)": 1}
    assert "stopped" in tailgraph("db", "stop", env=env).stdout
    assert json.loads(tailgraph("db", "status", "--json", env=env).stdout)["running"] is False
    tailgraph("db", "start", env=env)
    assert json.loads(tailgraph("db", "status", "--json", env=env).stdout)["counts"] == {
        "(:Item)": 1
    }
    tailgraph("db", "stop", env=env)


def test_stale_pid_file_does_not_block_start(tmp_path: Path) -> None:
    server = EmbeddedServer(tmp_path / "home")
    server.home.mkdir(parents=True)
    server.pid_file.write_text("999999")  # a pid that is not running
    assert server.status().running is False
    assert server.start() is True
    server.stop()


def test_sigterm_to_a_program_with_a_temporary_server_still_stops_it(tmp_path: Path) -> None:
    # What a benchmark does: start a server, work, stop it in `finally` — then get killed.
    program = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from kg.embedded import EmbeddedServer, exit_cleanly_on_sigterm\n"
        "exit_cleanly_on_sigterm()\n"
        "server = EmbeddedServer(Path(sys.argv[1]))\n"
        "server.start()\n"
        "try:\n"
        "    print(server.status().pid, flush=True)\n"
        "    time.sleep(120)\n"
        "finally:\n"
        "    server.stop()\n"
    )
    home = tmp_path / "home"
    process = subprocess.Popen(
        [sys.executable, "-c", program, str(home)], stdout=subprocess.PIPE, text=True
    )
    server = EmbeddedServer(home)
    try:
        assert process.stdout is not None
        pid = int(process.stdout.readline())
        process.terminate()  # SIGTERM
        assert process.wait(timeout=30) == 128 + 15
        assert server.status().running is False
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    finally:
        process.kill()
        server.stop()
