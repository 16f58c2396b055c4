"""The service's settings: one pydantic-settings class, read from `TAILGRAPH_API_*` env vars.

The graph connection itself is `kg.settings.GraphSettings` (`TAILGRAPH_GRAPH_URI`,
`TAILGRAPH_HOME`, `TAILGRAPH_GRAPH_NAME`, ...), shared with the command line so that
`tailgraph serve` talks to the same graph `tailgraph import` wrote; it is a field here so
that one object configures the whole app (tests pass their own).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict
from tailgraph.kg.settings import GraphSettings


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TAILGRAPH_API_", extra="ignore")

    run_dir: Path = Field(
        default=Path("runs/demo"), description="Run directory to serve (`tailgraph train --out`)."
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    workers: int = Field(default=1, ge=1, description="uvicorn worker processes.")
    api_key: SecretStr | None = Field(
        default=None,
        description="When set, every endpoint but /health, /ready and /metrics needs it in "
        "the X-API-Key header. Off by default; then /admin/* answers loopback clients only.",
    )
    runs_dir: Path | None = Field(
        default=None,
        description="The folder POST /admin/reload may load runs from (a name or a path "
        "inside it); default: the folder that holds run_dir.",
    )
    max_body_bytes: int = Field(
        default=1024 * 1024,
        ge=0,
        description="Largest request body accepted; larger ones get 413 before being read.",
    )
    explain_paths: int = Field(
        default=200, ge=1, description="KG paths fetched per explanation before ranking."
    )
    explain_history: int = Field(
        default=50, ge=1, description="Most recent interactions an explanation starts from."
    )
    max_live_events: int = Field(
        default=100_000,
        ge=0,
        description="Recorded interactions and added items remembered for replay onto a "
        "reloaded run (older ones are in the graph and reach the model at the next training).",
    )
    graph_timeout_s: float = Field(
        default=5.0, gt=0, description="Graph query timeout for requests (import uses its own)."
    )
    torch_threads: int = Field(
        default=1,
        ge=1,
        description="Intra-op threads per worker: one request's matmul is too small to "
        "split, and threads spinning on a shared machine only add latency.",
    )
    micro_batch: bool = Field(
        default=True,
        description="Score the known-user requests that arrive together with one matmul "
        "(bench/api_bench.py measures both ways).",
    )
    fast_recommend: bool = Field(
        default=True,
        description="Answer valid known-user recommendation requests beneath FastAPI's "
        "routing layers (same answers; everything else goes through the routes).",
    )
    load_encoder: bool = Field(
        default=True,
        description="Load the text encoder at start-up (free-text queries and new items "
        "need it); off, it loads on the first request that needs it.",
    )
    access_log: bool = Field(default=True, description="One JSON log line per request.")
    log_level: str = "INFO"
    graph: GraphSettings = Field(default_factory=GraphSettings, exclude=True)
