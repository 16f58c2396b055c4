"""A real Neo4j 5 Community server for the tests and benchmarks, from Maven Central.

`pom.xml` beside this file names the Neo4j version; Maven resolves it (and the
`neo4j-admin` import tool) into the local Maven repository (~/.m2) once, then
`Launcher.java` runs it with Java: Bolt on a loopback port, authentication on, a home
directory of its own. No Docker, nothing else downloaded.

    python tests/neo4j/server.py --home .neo4j-test     # prints the URI; Ctrl-C stops it

`Neo4jServer.start()` returns the Bolt URI once the default database is available;
`stop()` sends SIGTERM and waits for the clean shutdown. The launcher also stops when
its standard input closes, so a killed test run does not leave a Java process behind.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import secrets
import select
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
POM = HERE / "pom.xml"
LAUNCHER = HERE / "Launcher.java"
TARGET = HERE / "target"
CLASSPATH_FILE = TARGET / "classpath.txt"
NEO4J_VERSION = re.search(r"<neo4j.version>([^<]+)</neo4j.version>", POM.read_text()).group(1)  # type: ignore[union-attr]
# The heap of the test server: small, the build machines are shared (docs/decisions.md).
DEFAULT_HEAP = "768m"


class Neo4jSetupError(RuntimeError):
    """Java, Maven or the Neo4j artifacts are not to be had, or the server did not start."""


def missing_tools() -> str | None:
    """Why a test Neo4j cannot run here (no Java 17+, no Maven), or None."""
    java = shutil.which("java")
    if java is None:
        return "no `java` on PATH (Neo4j 5.26 needs Java 17 or 21)"
    version = subprocess.run([java, "-version"], capture_output=True, text=True, check=False)
    found = re.search(r'version "(\d+)', version.stderr + version.stdout)
    if found is None or int(found.group(1)) < 17:
        return f"`java` is not Java 17+ (found {version.stderr.strip().splitlines()[:1]})"
    if shutil.which("mvn") is None:
        return "no `mvn` on PATH (Maven resolves Neo4j from Maven Central)"
    return None


def classpath() -> str:
    """The Neo4j classpath, resolved by Maven once per version of pom.xml."""
    key = hashlib.sha256(POM.read_bytes()).hexdigest()
    stamp = TARGET / "classpath.key"
    if CLASSPATH_FILE.exists() and stamp.exists() and stamp.read_text() == key:
        return CLASSPATH_FILE.read_text().strip()
    TARGET.mkdir(exist_ok=True)
    command = [
        "mvn", "-B", "-q", "-f", str(POM), "dependency:build-classpath",
        f"-Dmdep.outputFile={CLASSPATH_FILE}",
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        raise Neo4jSetupError(
            f"Maven could not resolve Neo4j {NEO4J_VERSION} ({' '.join(command)} exited "
            f"{result.returncode}):\n{tail}"
        )
    stamp.write_text(key)
    return CLASSPATH_FILE.read_text().strip()


def java_command(main: str | Path, *args: str, heap: str = DEFAULT_HEAP) -> list[str]:
    """`java` with the Neo4j classpath: `main` is a class name or a single-file source."""
    return [
        "java", f"-Xmx{heap}", "-XX:+ExitOnOutOfMemoryError", "-XX:+UseSerialGC",
        "-cp", classpath(), str(main), *args,
    ]  # fmt: skip


def admin_import(home: Path, args: list[str], database: str = "neo4j") -> str:
    """`neo4j-admin database import full DATABASE ARGS…` into `home` (NEO4J_HOME), with the
    import tool from Maven; returns its output. The server over `home` must be stopped."""
    conf = home / "conf"
    conf.mkdir(parents=True, exist_ok=True)
    command = java_command(
        "org.neo4j.cli.AdminTool", "database", "import", "full", database, *args, heap="512m"
    )
    env = {**os.environ, "NEO4J_HOME": str(home), "NEO4J_CONF": str(conf)}
    # In `home`: the tool writes its import.report into the working directory.
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=home, check=False)
    output = result.stdout + result.stderr
    if result.returncode != 0:
        raise Neo4jSetupError(
            f"neo4j-admin database import full exited {result.returncode}:\n{output[-3000:]}"
        )
    return output


@dataclass
class Neo4jServer:
    """One Neo4j server process over `home`; `port` 0 takes a free port at first start,
    and a restart keeps the port it got (so a client's URI stays valid)."""

    home: Path
    password: str = field(default_factory=lambda: "tg-" + secrets.token_hex(8))
    port: int = 0
    heap: str = DEFAULT_HEAP
    user: str = "neo4j"
    _process: subprocess.Popen[str] | None = None

    @property
    def uri(self) -> str:
        return f"bolt://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def log_path(self) -> Path:
        return self.home / "launcher.log"

    def start(self, timeout_s: float = 300.0) -> str:
        if self.running:
            return self.uri
        self.home.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "TAILGRAPH_NEO4J_PASSWORD": self.password,
            "TAILGRAPH_NEO4J_EXIT_ON_EOF": "1",
        }
        with self.log_path.open("a") as log:
            self._process = subprocess.Popen(
                java_command(LAUNCHER, str(self.home), str(self.port), heap=self.heap),
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True, env=env,
            )  # fmt: skip
        line = self._read_line(timeout_s)
        ready = re.fullmatch(r"READY bolt://127\.0\.0\.1:(\d+)", line.strip())
        if ready is None:
            self.kill()
            raise Neo4jSetupError(
                f"Neo4j {NEO4J_VERSION} did not start (expected 'READY bolt://…', found "
                f"{line.strip()!r}); see {self.log_path} and {self.home / 'logs' / 'debug.log'}"
            )
        self.port = int(ready.group(1))
        return self.uri

    def _read_line(self, timeout_s: float) -> str:
        assert self._process is not None and self._process.stdout is not None
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            readable, _, _ = select.select([self._process.stdout], [], [], 0.5)
            if readable:
                return self._process.stdout.readline()
            if self._process.poll() is not None:
                return f"<exited {self._process.returncode}>"
        return f"<nothing within {timeout_s:.0f} s>"

    def stop(self, timeout_s: float = 60.0) -> None:
        """SIGTERM and wait: Neo4j shuts down cleanly (a few seconds)."""
        if self._process is None:
            return
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.kill()
        self._close_pipes()

    def kill(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        self._close_pipes()

    def _close_pipes(self) -> None:
        if self._process is not None:
            for pipe in (self._process.stdin, self._process.stdout):
                if pipe is not None:
                    pipe.close()
            self._process = None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path, required=True, help="data and logs directory")
    parser.add_argument("--port", type=int, default=0, help="Bolt port (0: a free one)")
    parser.add_argument("--password", default="tailgraph-test", help="password of user neo4j")
    parser.add_argument("--heap", default=DEFAULT_HEAP)
    args = parser.parse_args()
    problem = missing_tools()
    if problem:
        sys.exit(f"cannot run Neo4j here: {problem}")
    server = Neo4jServer(args.home, args.password, args.port, args.heap)
    started = time.perf_counter()
    uri = server.start()
    print(
        f"Neo4j {NEO4J_VERSION} ready in {time.perf_counter() - started:.1f} s at {uri} "
        f"(user neo4j, password {args.password}); Ctrl-C stops it",
        flush=True,
    )
    print(f"export TAILGRAPH_GRAPH_URI={uri} TAILGRAPH_NEO4J_PASSWORD={args.password}", flush=True)
    stop_on = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop_on)  # after the start: Java must not inherit it
    try:
        signal.sigwait(stop_on)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
