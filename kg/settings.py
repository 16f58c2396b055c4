"""Graph store settings: one pydantic-settings class, read from `TAILGRAPH_*` env vars.

`graph_uri` chooses the backend: unset (or `embedded`) means the embedded
FalkorDB server under `home`; `neo4j://`, `neo4j+s://`, `bolt://`, `bolt+s://`
mean a Neo4j 5 server reached with the official driver.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

NEO4J_SCHEMES: tuple[str, ...] = (
    "neo4j://",
    "neo4j+s://",
    "neo4j+ssc://",
    "bolt://",
    "bolt+s://",
    "bolt+ssc://",
)


class GraphSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TAILGRAPH_", extra="ignore")

    graph_uri: str | None = Field(
        default=None, description="Neo4j URI; unset or 'embedded' = embedded FalkorDB server."
    )
    home: Path = Field(default=Path(".tailgraph"), description="Embedded server data directory.")
    graph_name: str = Field(
        default="tailgraph",
        description="Embedded (FalkorDB) graph name; on Neo4j, neo4j_database chooses.",
    )
    neo4j_user: str = "neo4j"
    neo4j_password: SecretStr = SecretStr("")
    neo4j_database: str | None = Field(default=None, description="Neo4j database; None = default.")
    neo4j_max_retry_s: float = Field(
        default=30.0,
        ge=0,
        description="How long transient Neo4j errors (deadlocks, leader changes, a dropped "
        "connection) are retried; a refused connection is reported at once.",
    )
    batch_size: int = Field(default=5000, ge=1, description="Rows per UNWIND batch on import.")
    query_timeout_s: float = Field(default=120.0, gt=0)

    @property
    def backend(self) -> str:
        uri = (self.graph_uri or "").strip()
        if uri in ("", "embedded"):
            return "falkordb"
        if uri.startswith(NEO4J_SCHEMES):
            return "neo4j"
        raise ValueError(
            f"TAILGRAPH_GRAPH_URI: expected unset, 'embedded' or one of "
            f"{', '.join(NEO4J_SCHEMES)}; found {uri!r}"
        )
