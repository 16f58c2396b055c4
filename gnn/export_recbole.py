"""Write the harness's exact split and the KG as RecBole atomic benchmark files.

So peers run on the identical split (`bench/peers.py`): the split is
`gnn.split.split_interactions` on the same snapshot, seed and `cold_fraction` as
`gnn.harness.run_comparison`, and RecBole reads it with
`benchmark_filename: [train, valid, test]` (no re-splitting on its side).

Files under `<out_dir>/<name>/` (tab-separated, typed headers):

* `<name>.train.inter`, `<name>.valid.inter`, `<name>.test.inter`: `user_id`, `item_id`
  (and `timestamp` when the dataset has one), one row per interaction of that part,
  in the snapshot's row order;
* `<name>.item`: `item_id` of every *warm* item, so a warm item nobody interacted
  with in the split is still a candidate, as it is in our harness;
* `<name>.kg` (`head_id`, `relation_id`, `tail_id`) and `<name>.link` (`item_id`,
  `entity_id`): every snapshot KG edge; items are KG nodes `i<index>`, entities
  `e<index>`, and each warm item that has a KG edge is linked to its node.

Tokens are snapshot indices (user `u` row → token `"<u>"`, item row `i` → `"<i>"`),
so RecBole's re-mapped ids come back to our indices with `int(token)`, whatever
characters the original ids contain.

Cold items (the split's held-out items: no training interaction) are removed from
the RecBole dataset entirely: none of their interactions is exported (our cold test
set ranks only cold items, which RecBole cannot do), they are not in `.item` nor
linked as items, so RecBole's candidate set is exactly our warm candidate set
(all items but the cold ones) and its training negatives come from the same set.
They stay in the KG as plain entities `i<index>`: the KG carries no interaction,
and our KG models see the same graph.

RecBole must not filter or re-split anything: `recbole_config` turns every filter
off. With benchmark files RecBole's full ranking masks the training items for
validation and training + validation items for test, as `gnn.evaluate` does.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tailgraph.gnn.split import Split, split_interactions
from tailgraph.kg.snapshot import GraphSnapshot

PARTS = ("train", "valid", "test")


@dataclass
class RecboleExport:
    directory: Path  # the dataset directory: RecBole's data_path / dataset
    name: str
    split: Split
    files: dict[str, Path] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    has_kg: bool = False
    has_timestamp: bool = False

    @property
    def data_path(self) -> Path:
        return self.directory.parent


def _write(path: Path, frame: pd.DataFrame) -> None:
    # RecBole's reader splits on tabs only; no quoting (tokens never hold tabs or quotes).
    frame.to_csv(path, sep="\t", index=False, quoting=csv.QUOTE_NONE)


def _nodes(kind: pd.Series, index: pd.Series) -> pd.Series:
    prefix = np.where(kind.to_numpy() == "item", "i", "e")
    return pd.Series(prefix, index=index.index) + index.astype(str)


def export_recbole(
    snapshot: GraphSnapshot,
    out_dir: Path,
    name: str,
    seed: int = 0,
    cold_fraction: float = 0.1,
    split: Split | None = None,
) -> RecboleExport:
    """Write `<out_dir>/<name>/<name>.*`; the split is recomputed as the harness does."""
    if split is None:
        split = split_interactions(snapshot.interactions, snapshot.num_items, seed, cold_fraction)
    directory = Path(out_dir) / name
    directory.mkdir(parents=True, exist_ok=True)
    x = snapshot.interactions
    ts = x["ts"].to_numpy(dtype=float)
    has_ts = bool(len(ts)) and bool(np.isfinite(ts).all())
    export = RecboleExport(directory, name, split, has_timestamp=has_ts)
    cold = np.zeros(snapshot.num_items, dtype=bool)
    cold[split.cold_items] = True

    for part in PARTS:
        rows = getattr(split, part)
        frame = pd.DataFrame({
            "user_id:token": x["user"].to_numpy()[rows],
            "item_id:token": x["item"].to_numpy()[rows],
        })  # fmt: skip
        if has_ts:
            frame["timestamp:float"] = ts[rows]
        assert not cold[frame["item_id:token"].to_numpy()].any(), "cold item in a warm part"
        path = directory / f"{name}.{part}.inter"
        _write(path, frame)
        export.files[part] = path
        export.counts[part] = len(frame)

    warm = np.flatnonzero(~cold)
    _write(directory / f"{name}.item", pd.DataFrame({"item_id:token": warm}))
    export.files["item"] = directory / f"{name}.item"
    export.counts["items"] = len(warm)

    edges = snapshot.kg_edges
    if len(edges):
        kg = pd.DataFrame({
            "head_id:token": _nodes(edges["head_type"], edges["head"]),
            "relation_id:token": edges["relation"].astype(str),
            "tail_id:token": _nodes(edges["tail_type"], edges["tail"]),
        }).drop_duplicates()  # fmt: skip
        in_kg = np.unique(np.concatenate([
            edges.loc[edges["head_type"] == "item", "head"].to_numpy(),
            edges.loc[edges["tail_type"] == "item", "tail"].to_numpy(),
        ])).astype(np.int64)  # fmt: skip
        linked = in_kg[~cold[in_kg]]
        link = pd.DataFrame({"item_id:token": linked, "entity_id:token": [f"i{i}" for i in linked]})
        _write(directory / f"{name}.kg", kg)
        _write(directory / f"{name}.link", link)
        export.files["kg"] = directory / f"{name}.kg"
        export.files["link"] = directory / f"{name}.link"
        export.counts["kg_triples"] = len(kg)
        export.counts["linked_items"] = len(link)
        export.has_kg = True
    return export


def recbole_config(export: RecboleExport, **overrides: Any) -> dict[str, Any]:
    """RecBole settings that read the exported split as is: no filter, no re-split."""
    load_col: dict[str, list[str]] = {"inter": ["user_id", "item_id"], "item": ["item_id"]}
    if export.has_kg:
        load_col["kg"] = ["head_id", "relation_id", "tail_id"]
        load_col["link"] = ["item_id", "entity_id"]
    config: dict[str, Any] = {
        "data_path": str(export.data_path.resolve()),
        "dataset": export.name,
        "benchmark_filename": list(PARTS),
        "load_col": load_col,
        "USER_ID_FIELD": "user_id",
        "ITEM_ID_FIELD": "item_id",
        "field_separator": "\t",
        # Filters off: every exported row stays, every warm item is a candidate.
        "rm_dup_inter": None,
        "val_interval": None,
        "filter_inter_by_user_or_item": False,
        "user_inter_num_interval": None,
        "item_inter_num_interval": None,
        "entity_kg_num_interval": None,
        "relation_kg_num_interval": None,
        "eval_args": {"group_by": "user", "order": "RO", "mode": "full"},
        "metrics": ["Recall", "NDCG", "Hit"],
        "topk": [10, 20],
        "valid_metric": "NDCG@20",
    }
    config.update(overrides)
    return config
