"""The RecBole export holds exactly the harness's split, without cold items."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from tailgraph.gnn.export_recbole import export_recbole, recbole_config
from tailgraph.gnn.split import split_interactions
from tailgraph.kg.snapshot import GraphSnapshot


def _read(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    frame.columns = [c.split(":")[0] for c in frame.columns]
    return frame


def test_export_round_trips_the_split(tiny_snapshot: GraphSnapshot, tmp_path: Path) -> None:
    snapshot = tiny_snapshot
    export = export_recbole(snapshot, tmp_path, "tiny", seed=3, cold_fraction=0.1)
    split = split_interactions(snapshot.interactions, snapshot.num_items, 3, 0.1)
    assert len(split.cold_items) > 0
    np.testing.assert_array_equal(export.split.cold_items, split.cold_items)
    x = snapshot.interactions
    cold = set(split.cold_items.tolist())
    for part in ("train", "valid", "test"):
        frame = _read(tmp_path / "tiny" / f"tiny.{part}.inter")
        rows = getattr(split, part)
        assert len(rows) > 0
        got = list(zip(frame["user_id"].astype(int), frame["item_id"].astype(int), strict=True))
        want = list(zip(x["user"].to_numpy()[rows], x["item"].to_numpy()[rows], strict=True))
        assert got == want  # same rows, same order
        assert not cold & set(frame["item_id"].astype(int))
        if export.has_timestamp:
            np.testing.assert_allclose(frame["timestamp"].astype(float), x["ts"].to_numpy()[rows])
    # Every warm item (interactions or not) is a RecBole item; no cold item is.
    items = set(_read(tmp_path / "tiny" / "tiny.item")["item_id"].astype(int))
    assert items == set(range(snapshot.num_items)) - cold
    assert export.counts["items"] == snapshot.num_items - len(cold)


def test_export_kg_and_links(tiny_snapshot: GraphSnapshot, tmp_path: Path) -> None:
    snapshot = tiny_snapshot
    export = export_recbole(snapshot, tmp_path, "tiny", seed=0)
    cold = set(export.split.cold_items.tolist())
    kg = _read(tmp_path / "tiny" / "tiny.kg")
    edges = snapshot.kg_edges
    prefix = {"item": "i", "entity": "e"}
    want = {
        (prefix[ht] + str(h), r, prefix[tt] + str(t))
        for ht, h, r, tt, t in edges[["head_type", "head", "relation", "tail_type", "tail"]]
        .itertuples(index=False)
    }  # fmt: skip
    assert set(map(tuple, kg[["head_id", "relation_id", "tail_id"]].to_numpy())) == want
    link = _read(tmp_path / "tiny" / "tiny.link")
    linked = link["item_id"].astype(int)
    assert not cold & set(linked)
    assert (link["entity_id"] == "i" + link["item_id"]).all()
    nodes = set(kg["head_id"]) | set(kg["tail_id"])
    warm_in_kg = {int(n[1:]) for n in nodes if n.startswith("i")} - cold
    assert set(linked) == warm_in_kg


def test_recbole_config_turns_filters_off(tiny_snapshot: GraphSnapshot, tmp_path: Path) -> None:
    export = export_recbole(tiny_snapshot, tmp_path, "tiny")
    config = recbole_config(export, epochs=7)
    assert config["benchmark_filename"] == ["train", "valid", "test"]
    assert Path(config["data_path"]) / config["dataset"] == export.directory
    for key in ("user_inter_num_interval", "item_inter_num_interval", "rm_dup_inter",
                "val_interval", "entity_kg_num_interval", "relation_kg_num_interval"):  # fmt: skip
        assert config[key] is None
    assert config["filter_inter_by_user_or_item"] is False
    assert config["epochs"] == 7 and config["valid_metric"] == "NDCG@20"
    assert set(config["load_col"]) == {"inter", "item", "kg", "link"}
