"""Tailgraph: knowledge-graph-augmented recommendations for the long tail.

The installed import names live under `tailgraph.`: `tailgraph.kg` (graph store, formats,
import, snapshot), `tailgraph.encoders` (text encoders and cache), `tailgraph.gnn`
(models, training, evaluation) and `tailgraph.api` (command line and HTTP service). In
the repository they are the top-level folders `kg/`, `encoders/`, `gnn/` and `api/`,
mapped under this package by `pyproject.toml` (`[tool.setuptools] package-dir`).

`tailgraph.Tailgraph` (fit, recommend, save, load: `tailgraph.api.facade`) is imported on
first use, so `import tailgraph` stays light.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["Tailgraph", "__version__"]


def __getattr__(name: str) -> Any:
    if name == "Tailgraph":
        from tailgraph.api.facade import Tailgraph

        return Tailgraph
    raise AttributeError(f"module 'tailgraph' has no attribute {name!r}")
