"""Interfaces: the `tailgraph` command line and the FastAPI service."""
