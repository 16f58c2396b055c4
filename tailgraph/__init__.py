"""Tailgraph: knowledge-graph-augmented recommendations for the long tail.

The installed import names live under `tailgraph.`: `tailgraph.kg` (graph store, formats,
import, snapshot), `tailgraph.encoders` (text encoders and cache), `tailgraph.gnn`
(models, training, evaluation) and `tailgraph.api` (command line and HTTP service). In
the repository they are the top-level folders `kg/`, `encoders/`, `gnn/` and `api/`,
mapped under this package by `pyproject.toml` (`[tool.setuptools] package-dir`).
"""

from __future__ import annotations

__version__ = "0.1.0"
