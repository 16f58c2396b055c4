"""`api.service.serve` for real: uvicorn on loopback in its own process, JSON logs, shutdown."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from tailgraph.api.service.server import _tcp_socket
from tailgraph.api.service.settings import ServiceSettings
from tailgraph.kg.settings import GraphSettings


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(
    run_dir: Path, graph: GraphSettings, log: Path, workers: int
) -> tuple[subprocess.Popen[bytes], str]:
    """`serve(...)` in its own process group; returns the process and its base URL."""
    port = _free_port()
    env = {
        **os.environ,
        "TAILGRAPH_API_LOAD_ENCODER": "false",
        "PYTHONUNBUFFERED": "1",
    }
    for name in ("PROMETHEUS_MULTIPROC_DIR", "TAILGRAPH_HOME", "TAILGRAPH_GRAPH_NAME"):
        env.pop(name, None)
    # The graph travels as `serve(graph=...)` (what the CLI's --home passes), not the env.
    code = (
        "from pathlib import Path; from tailgraph.api.service import serve; "
        "from tailgraph.kg.settings import GraphSettings; "
        f"serve({str(run_dir)!r}, host='127.0.0.1', port={port}, workers={workers}, "
        f"graph=GraphSettings(home=Path({str(graph.home)!r}), "
        f"graph_name={graph.graph_name!r}))"
    )
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-c", code],
            env=env,
            stderr=stderr,
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )
    return process, f"http://127.0.0.1:{port}"


def test_listening_socket_gives_accepted_connections_tcp_nodelay() -> None:
    # Keep-alive answers must not be held back by Nagle + delayed ACK (~40 ms each): asyncio
    # sets TCP_NODELAY on accepted connections only when the listening socket was made with
    # IPPROTO_TCP, which uvicorn's own multi-worker socket is not.
    settings = ServiceSettings(host="127.0.0.1", port=_free_port())
    listening = _tcp_socket(settings)
    listening.listen()
    seen: list[int] = []

    async def accept_one() -> None:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            sock = writer.get_extra_info("socket")
            seen.append(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        server = await asyncio.start_server(handle, sock=listening)
        async with server:
            _, writer = await asyncio.open_connection("127.0.0.1", settings.port)
            while not seen:
                await asyncio.sleep(0.01)
            writer.close()

    asyncio.run(asyncio.wait_for(accept_one(), timeout=30))
    assert seen == [1]


def _wait_ready(process: subprocess.Popen[bytes], base: str, log: Path) -> None:
    deadline = time.monotonic() + 90
    while True:
        assert process.poll() is None, log.read_text()
        try:
            if httpx.get(f"{base}/ready", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.2)


def _workers(log: Path) -> list[int]:
    """Live uvicorn workers, from their own log lines (started and not yet finished)."""
    text = log.read_text()
    started = re.findall(r"Started server process \[(\d+)\]", text)
    finished = set(re.findall(r"Finished server process \[(\d+)\]", text))
    return [int(pid) for pid in started if pid not in finished]


@pytest.mark.parametrize("workers", [1, 2])
def test_serve_runs_uvicorn_with_json_logs(
    run_dir: Path, api_graph: GraphSettings, tmp_path: Path, workers: int
) -> None:
    log = tmp_path / "server.log"
    process, base = _start(run_dir, api_graph, log, workers)
    try:
        _wait_ready(process, base, log)
        with httpx.Client(base_url=base, timeout=10) as client:
            for _ in range(2 * workers):  # enough requests to reach every worker
                response = client.get("/users/u00001/recommendations", params={"k": 5})
                assert response.status_code == 200 and len(response.json()["items"]) == 5
            assert client.get("/ready").json()["graph"] == "up"  # graph settings arrived
            metrics = client.get("/metrics").text
        count = next(
            line
            for line in metrics.splitlines()
            if line.startswith("tailgraph_http_request_duration_seconds_count")
            and "/users/{user_id}/recommendations" in line
        )
        assert float(count.rsplit(" ", 1)[1]) == 2 * workers  # all workers, aggregated
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        # uvicorn shuts down gracefully, then re-raises the signal: exit status -SIGTERM.
        assert process.wait(timeout=30) in (0, -signal.SIGTERM), log.read_text()
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    access = [line for line in lines if line.get("logger") == "tailgraph.api.access"]
    assert any(
        line["route"] == "/users/{user_id}/recommendations" and line["status"] == 200
        for line in access
    )
    assert any(line.get("message") == "run loaded" for line in lines)
    assert any("shutdown complete" in str(line.get("message")) for line in lines)


def test_shutdown_signal_is_not_held_up_by_a_worker_that_does_not_answer(
    run_dir: Path, api_graph: GraphSettings, tmp_path: Path
) -> None:
    # Ctrl-C reaches the workers as well as the supervisor; a worker on its way out stops
    # answering the supervisor's liveness ping. A stopped worker is that case held still:
    # the supervisor must act on its own SIGTERM at once, not after the ping's timeout.
    log = tmp_path / "server.log"
    process, base = _start(run_dir, api_graph, log, workers=2)
    stopped: int | None = None
    try:
        _wait_ready(process, base, log)
        stopped = _workers(log)[0]
        os.kill(stopped, signal.SIGSTOP)
        time.sleep(1.0)  # the supervisor is now waiting on the stopped worker's answer
        os.kill(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while "Received SIGTERM, exiting." not in log.read_text():
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
    finally:
        if stopped is not None:
            os.kill(stopped, signal.SIGCONT)  # let it take the SIGTERM it has been sent
        os.killpg(process.pid, signal.SIGTERM)
        assert process.wait(timeout=30) in (0, -signal.SIGTERM), log.read_text()
    assert "Child process" not in log.read_text().split("Received SIGTERM")[1]  # no restart


def test_sighup_replaces_every_worker_with_a_fresh_load(
    run_dir: Path, api_graph: GraphSettings, tmp_path: Path
) -> None:
    # What the README tells operators of a multi-worker service to do after a new run lands.
    log = tmp_path / "server.log"
    process, base = _start(run_dir, api_graph, log, workers=2)
    try:
        _wait_ready(process, base, log)
        before = set(_workers(log))
        os.kill(process.pid, signal.SIGHUP)
        deadline = time.monotonic() + 120
        while log.read_text().count('"run loaded"') < 4 or set(_workers(log)) & before:
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        response = httpx.get(f"{base}/users/u00001/recommendations", params={"k": 3}, timeout=10)
        assert response.status_code == 200 and len(response.json()["items"]) == 3
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        assert process.wait(timeout=30) in (0, -signal.SIGTERM), log.read_text()


@pytest.mark.slow
def test_sighup_reloads_a_single_worker_in_place(
    run_dir: Path, api_graph: GraphSettings, tmp_path: Path
) -> None:
    # Python's default for SIGHUP ends the process; a single-worker service must reload the
    # run it serves instead, say so in its log, and keep answering.
    log = tmp_path / "server.log"
    process, base = _start(run_dir, api_graph, log, workers=1)
    try:
        _wait_ready(process, base, log)
        os.kill(process.pid, signal.SIGHUP)
        deadline = time.monotonic() + 120
        while '"run reloaded"' not in log.read_text():
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        assert "SIGHUP received" in log.read_text()
        response = httpx.get(f"{base}/users/u00001/recommendations", params={"k": 3}, timeout=10)
        assert response.status_code == 200 and len(response.json()["items"]) == 3
        assert process.poll() is None
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        assert process.wait(timeout=30) in (0, -signal.SIGTERM), log.read_text()
