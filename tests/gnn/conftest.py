"""Snapshots of the built-in sample, imported into the real embedded server once per session,
and text features from the real MiniLM model (cached on disk for the session)."""

from __future__ import annotations

from pathlib import Path

import pytest
from tailgraph.encoders import TextEncoder
from tailgraph.gnn.data import TrainData, build_train_data
from tailgraph.gnn.features import TextFeatures, text_features
from tailgraph.gnn.split import split_interactions
from tailgraph.kg.importer import import_dataset
from tailgraph.kg.sample import generate_sample
from tailgraph.kg.settings import GraphSettings
from tailgraph.kg.snapshot import GraphSnapshot, take_snapshot
from tailgraph.kg.store import open_store


def _snapshot(home: Path, tmp: Path, size: str) -> GraphSnapshot:
    settings = GraphSettings(home=home, graph_name=f"gnn_{size}")
    with open_store(settings) as store:
        import_dataset(generate_sample(size, seed=0), store, tmp / "journal")
        return take_snapshot(store)


@pytest.fixture(scope="session")
def encoder() -> TextEncoder:
    return TextEncoder()


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("embeddings")


@pytest.fixture(scope="session")
def tiny_snapshot(server_home: Path, tmp_path_factory: pytest.TempPathFactory) -> GraphSnapshot:
    return _snapshot(server_home, tmp_path_factory.mktemp("tiny"), "tiny")


@pytest.fixture(scope="session")
def small_snapshot(server_home: Path, tmp_path_factory: pytest.TempPathFactory) -> GraphSnapshot:
    return _snapshot(server_home, tmp_path_factory.mktemp("small"), "small")


@pytest.fixture(scope="session")
def tiny_features(
    tiny_snapshot: GraphSnapshot, encoder: TextEncoder, cache_dir: Path
) -> TextFeatures:
    return text_features(tiny_snapshot, "full", encoder, cache_dir)


@pytest.fixture(scope="session")
def tiny_data(tiny_snapshot: GraphSnapshot, tiny_features: TextFeatures) -> TrainData:
    split = split_interactions(tiny_snapshot.interactions, tiny_snapshot.num_items, seed=0)
    return build_train_data(tiny_snapshot, split, tiny_features.items, tiny_features.entities)
