"""The Tailgraph HTTP API (FastAPI): `create_app` builds it, `serve` runs it under uvicorn.

Package layout: `settings` (one pydantic-settings class, `TAILGRAPH_API_*`), `state`
(a loaded run + live overlays), `runtime` (the swapped state reference, graph gateway,
encoders, live log), `scoring` (matmul + top-k), `explain` (KG path ranking),
`schemas` (request/response models = OpenAPI), `dependencies` (`Depends` providers),
`routers/` (one per resource), `observability` (metrics, JSON logs), `app`, `server`.
"""

from tailgraph.api.service.app import create_app
from tailgraph.api.service.server import serve
from tailgraph.api.service.settings import ServiceSettings

__all__ = ["ServiceSettings", "create_app", "serve"]
