"""Graph → Parquet tables + PyG HeteroData, page by page, with stable id ↔ index maps."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import torch
from tailgraph.kg.adapters import load_dataset
from tailgraph.kg.importer import import_dataset
from tailgraph.kg.sample import generate_sample, write_sample
from tailgraph.kg.snapshot import GraphSnapshot, take_snapshot
from tailgraph.kg.store import GraphStore
from tailgraph.kg.validate import ValidationFailed


def test_snapshot_matches_dataset_and_survives_save_load(store: GraphStore, tmp_path: Path) -> None:
    write_sample(tmp_path / "s", size="tiny", seed=2)
    dataset = load_dataset(tmp_path / "s")
    import_dataset(dataset, store, tmp_path / "j")
    snap = take_snapshot(store, page_size=37)  # many pages
    assert snap.num_items == len(dataset.items)
    assert snap.num_users == len(dataset.users)
    assert len(snap.interactions) == len(dataset.interactions)
    assert len(snap.kg_edges) == len(dataset.triples)
    assert list(snap.items["id"]) == sorted(dataset.items["item_id"].astype(str))

    # Every interaction maps back to the same (user, item) pair of ids.
    pairs = set(zip(snap.users["id"][snap.interactions["user"]],
                    snap.items["id"][snap.interactions["item"]], strict=True))  # fmt: skip
    expected = set(
        zip(dataset.interactions["user_id"], dataset.interactions["item_id"], strict=True)
    )
    assert pairs == expected

    snap.save(tmp_path / "snap")
    again = GraphSnapshot.load(tmp_path / "snap")
    assert again.items["id"].tolist() == snap.items["id"].tolist()
    assert len(again.kg_edges) == len(snap.kg_edges)

    data = snap.to_hetero_data()
    assert data["item"].num_nodes == snap.num_items
    edge_index = data["user", "interacted", "item"].edge_index
    assert edge_index.shape == (2, len(dataset.interactions))
    assert int(edge_index[1].max()) < snap.num_items
    kg_types = [t for t in data.edge_types if t[1] != "interacted"]
    assert sum(data[t].edge_index.shape[1] for t in kg_types) == len(dataset.triples)
    assert data["user", "interacted", "item"].ts.dtype == torch.float64


def test_same_graph_same_snapshot(store: GraphStore, tmp_path: Path) -> None:
    dataset = generate_sample("tiny", seed=5)
    import_dataset(dataset, store, tmp_path / "j")
    a, b = take_snapshot(store, page_size=10), take_snapshot(store, page_size=1000)
    assert a.items["id"].tolist() == b.items["id"].tolist()
    assert a.interactions[["user", "item"]].values.tolist() == \
        b.interactions[["user", "item"]].values.tolist()  # fmt: skip


def _same_tables(a: GraphSnapshot, b: GraphSnapshot) -> None:
    for name in ("items", "users", "entities", "interactions", "kg_edges"):
        left, right = getattr(a, name), getattr(b, name)
        assert sorted(left.columns) == sorted(right.columns), name
        pd.testing.assert_frame_equal(
            left[sorted(left.columns)].reset_index(drop=True),
            right[sorted(left.columns)].reset_index(drop=True),
            check_dtype=False,
            obj=name,
        )


@pytest.mark.parametrize("size", ["tiny", "small"])
def test_snapshot_from_a_dataset_equals_the_graphs(
    store: GraphStore, tmp_path: Path, size: str
) -> None:
    # Training without a database sees exactly what training from the graph sees.
    write_sample(tmp_path / "s", size=size, seed=3)
    dataset = load_dataset(tmp_path / "s")
    import_dataset(dataset, store, tmp_path / "j")
    _same_tables(GraphSnapshot.from_dataset(dataset), take_snapshot(store))


def test_snapshot_from_a_dataset_validates_it(tmp_path: Path) -> None:
    dataset = generate_sample("tiny", seed=1)
    assert dataset.interactions is not None
    dataset.interactions.loc[0, "item_id"] = "no-such-item"
    with pytest.raises(ValidationFailed, match="no-such-item"):
        GraphSnapshot.from_dataset(dataset)
