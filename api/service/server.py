"""`serve(run_dir, host, port, workers)`: run the API under uvicorn (what `tailgraph serve` calls).

With one worker the app object is built here and handed to uvicorn. With several,
uvicorn starts each worker from an import string, so the settings travel through the
environment (`TAILGRAPH_API_*`, read by `ServiceSettings` in each worker) and
`api.service.server:app_from_env` builds one app per worker. Each worker holds its own
copy of the run and of the live overlays: an interaction recorded on one worker shapes
that worker's next answers, and reaches the others at the next reload or training run
(the graph has it at once). Prometheus values are shared through
`PROMETHEUS_MULTIPROC_DIR`, set here before the workers start.

SIGHUP reloads: with several workers uvicorn's supervisor replaces them one by one; with
one, the process reloads the run it serves in place (`Runtime.reload`, in a thread: the
handler only starts it), keeping its live overlays, and logs the outcome. Python's default
for SIGHUP is to end the process, which killed a single-worker service without a word.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import tempfile
import threading
import time
from pathlib import Path
from types import FrameType

import uvicorn
from fastapi import FastAPI
from tailgraph.api.service.app import create_app
from tailgraph.api.service.errors import ApiError
from tailgraph.api.service.observability import log_config
from tailgraph.api.service.runtime import Runtime
from tailgraph.api.service.settings import ServiceSettings
from tailgraph.kg.settings import GraphSettings
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess
from uvicorn.supervisors.multiprocess import Process


def app_from_env() -> FastAPI:
    """uvicorn factory for worker processes: settings from `TAILGRAPH_API_*`."""
    return create_app(ServiceSettings())


def serve(
    run_dir: Path | str | None = None,
    host: str | None = None,
    port: int | None = None,
    workers: int | None = None,
    graph: GraphSettings | None = None,
) -> None:
    """Serve `run_dir` (default `TAILGRAPH_API_RUN_DIR`) until interrupted.

    `graph`: the graph connection (the CLI's `--home`/`--graph-uri`); default
    `GraphSettings()` from `TAILGRAPH_*`.
    """
    overrides = {
        key: value
        for key, value in (
            ("run_dir", run_dir),
            ("host", host),
            ("port", port),
            ("workers", workers),
        )
        if value is not None
    }
    if graph is not None:
        overrides["graph"] = graph
    settings = ServiceSettings(**overrides)
    common = {
        "host": settings.host,
        "port": settings.port,
        "log_config": log_config(settings.log_level),
        "access_log": False,  # ours is in the middleware: JSON, with route and request id
        "timeout_graceful_shutdown": 10,
    }
    if settings.workers == 1:
        app = create_app(settings)
        reload_on_sighup(app.state.runtime)
        uvicorn.run(app, **common)  # type: ignore[arg-type]
        return
    # Workers re-read settings from the environment: pass what the caller overrode.
    os.environ["TAILGRAPH_API_RUN_DIR"] = str(Path(settings.run_dir).resolve())
    for name, value in settings.graph.model_dump().items():
        if value is not None:
            secret = getattr(value, "get_secret_value", None)
            os.environ[f"TAILGRAPH_{name.upper()}"] = str(secret() if secret else value)
    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="tailgraph-prom-"))
    config = uvicorn.Config(
        "tailgraph.api.service.server:app_from_env",
        factory=True,
        workers=settings.workers,
        # A worker imports torch and loads the run before it answers the supervisor's
        # health check; uvicorn's 5 s default killed them in a loop on a busy 2-core box.
        timeout_worker_healthcheck=120,
        **common,  # type: ignore[arg-type]
    )
    # uvicorn's own multi-worker socket is created without IPPROTO_TCP, so asyncio does not
    # set TCP_NODELAY on accepted connections: Nagle + delayed ACK then held every
    # keep-alive response ~40 ms (measured: 44 ms p50 at concurrency 1 with 2 workers).
    _Supervisor(config, sockets=[_tcp_socket(settings)]).run()


def reload_on_sighup(runtime: Runtime) -> None:
    """Make SIGHUP reload the served run (in a thread), logging what happened."""
    log = logging.getLogger("tailgraph.api.server")

    def reload() -> None:
        log.info("SIGHUP received: reloading the run")
        try:
            runtime.reload(None)  # logs "run reloaded" with its figures
        except ApiError as exc:  # not loaded yet, a reload already running, a bad run
            log.warning("SIGHUP reload refused", extra={"fields": {"reason": str(exc)}})
        except Exception:
            log.exception("SIGHUP reload failed; the old run keeps serving")

    def handle(_signum: int, _frame: FrameType | None) -> None:
        threading.Thread(target=reload, name="sighup-reload", daemon=True).start()

    signal.signal(signal.SIGHUP, handle)


class _Supervisor(Multiprocess):
    """uvicorn's multi-worker supervisor with a liveness check that yields to shutdown.

    uvicorn pings each worker every 0.5 s and waits up to `timeout_worker_healthcheck`
    for the answer. Ctrl-C (or a SIGTERM to the process group, as systemd sends) reaches
    the workers too; a worker that is exiting stops answering, but its pipe stays open in
    this process, so the wait ran its whole length (120 s here) before the signal was
    even looked at, and then restarted the worker. Here the wait is cut into short
    slices and ends as soon as the worker has exited or a shutdown signal is queued.
    """

    _SLICE_S = 0.25

    def keep_subprocess_alive(self) -> None:
        for index, process in enumerate(self.processes):
            answered = self._answers(process)
            if answered is None or self.should_exit.is_set():
                return  # shutting down: the main loop handles the queued signal next
            if answered:
                continue
            process.kill()
            process.join()
            if process.exitcode == STARTUP_FAILURE:
                # Same as uvicorn: a worker that failed before serving would fail again.
                _log.error(f"Child process [{process.pid}] failed to start, stopping.")
                self.should_exit.set()
                return
            _log.info(f"Child process [{process.pid}] died")
            replacement = Process(self.config, self.sockets)
            replacement.start()
            self.processes[index] = replacement

    def _answers(self, process: Process) -> bool | None:
        """True: the worker answered a ping; False: it died or hung; None: shutdown is pending."""
        deadline = time.monotonic() + self.config.timeout_worker_healthcheck
        while time.monotonic() < deadline:
            if any(sig in _SHUTDOWN_SIGNALS for sig in self.signal_queue):
                return None
            if not process.process.is_alive():
                return False
            # A slice that times out leaves its answer in the pipe; the next ping reads it,
            # which is still proof of life.
            if process.ping(timeout=self._SLICE_S):
                return True
        return False


_log = logging.getLogger("uvicorn.error")
_SHUTDOWN_SIGNALS = {signal.SIGINT, signal.SIGTERM}


def _tcp_socket(settings: ServiceSettings) -> socket.socket:
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((settings.host, settings.port))
    sock.set_inheritable(True)
    return sock
