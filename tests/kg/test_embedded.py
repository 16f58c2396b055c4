"""The embedded server lifecycle: start, reuse, status, stop, data surviving a restart."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tailgraph.kg.adapters import load_dataset
from tailgraph.kg.embedded import EmbeddedServer
from tailgraph.kg.errors import GraphUnavailable
from tailgraph.kg.importer import import_dataset
from tailgraph.kg.sample import write_sample
from tailgraph.kg.settings import GraphSettings
from tailgraph.kg.store import open_store


def tailgraph(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tailgraph.api.cli", *args],
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
        "from tailgraph.kg.embedded import EmbeddedServer, exit_cleanly_on_sigterm\n"
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


def _incr_log_bytes(server: EmbeddedServer) -> int:
    """Bytes of write statements the server would replay on its next start."""
    return sum(f.stat().st_size for f in (server.data_dir / "appendonlydir").glob("*.incr.aof"))


def _write_items(settings: GraphSettings, batches: int) -> None:
    with open_store(settings) as store:
        store.run("CREATE INDEX FOR (i:Item) ON (i.id)")
        for b in range(batches):
            rows = [f"{b}-{j}" for j in range(2000)]
            store.run("UNWIND $rows AS r MERGE (i:Item {id: r}) SET i.title = r", {"rows": rows})


def test_start_waits_while_the_server_replays_its_log(tmp_path: Path) -> None:
    # FalkorDB replays an uncompacted log statement by statement, far slower than the writes
    # took (MERGE without its index while loading): a start must wait that out, not fail.
    server = EmbeddedServer(tmp_path / "home")
    settings = GraphSettings(home=server.home)
    server.start()
    _write_items(settings, batches=4)
    pid = server.status().pid
    assert pid is not None
    os.kill(pid, 9)  # no compaction on the way down: the next start replays 4 statements
    with pytest.raises(ProcessLookupError):
        for _ in range(200):
            os.kill(pid, 0)
            time.sleep(0.05)
    try:
        assert server.start(timeout_s=0.3) is True
        replay = re.findall(
            r"loaded from incr file \S+: ([\d.]+) seconds", server.log_file.read_text()
        )
        assert float(replay[-1]) > 0.3  # the wait outlasted timeout_s: loading did not count
        with open_store(settings, start=False) as store:
            assert store.run("MATCH (i:Item) RETURN count(i) AS n") == [{"n": 8000}]
    finally:
        server.stop()


def test_stop_and_import_leave_a_compacted_log(tmp_path: Path) -> None:
    server = EmbeddedServer(tmp_path / "home")
    settings = GraphSettings(home=server.home, graph_name="compact")
    server.start()
    try:
        _write_items(settings, batches=1)
        assert _incr_log_bytes(server) > 10_000
        server.stop()
        assert _incr_log_bytes(server) == 0  # all of it in the binary snapshot
        server.start()
        with open_store(settings, start=False) as store:
            assert store.run("MATCH (i:Item) RETURN count(i) AS n") == [{"n": 2000}]
        write_sample(tmp_path / "sample", size="small")
        with open_store(settings, start=False) as store:
            import_dataset(load_dataset(tmp_path / "sample"), store, tmp_path / "journal")
        assert _incr_log_bytes(server) == 0
    finally:
        server.stop()
