"""The run directory: everything needed to serve and to judge one trained model.

    runs/<name>/
      config.json             harness + model config, relation names, text model
      items.parquet           id ↔ index map for items (id, title, description)
      users.parquet           id ↔ index map for users (id + attributes)
      entities.parquet        id ↔ index map for KG entity nodes (id, name, type)
      model.safetensors       Tailgraph weights
      data.safetensors        tensors the model reads at serving time (text embeddings,
                              KG edges, training counts, histories, user attributes)
      embeddings.safetensors  final item vectors z [I, d] and user vectors p [U, d]
      metrics.json            {"dataset", "split", "seed", "models": {...}}
      report.md, *.png        comparison table and plots

Written atomically: into a temporary sibling directory, then renamed, so a reader
(the API reloading a run) never sees half a run.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from safetensors.torch import load_file, save_file
from tailgraph.gnn.data import AttributeColumn, TrainData
from tailgraph.gnn.models.tailgraph import TailgraphConfig, TailgraphModel
from tailgraph.kg.snapshot import GraphSnapshot

from tailgraph.atomic import atomic_dir

DATA_TENSORS = (
    "train_user", "train_item", "item_text", "entity_text", "kg_entities", "kg_edge_index",
    "kg_edge_type", "item_count", "history", "user_attr", "cold_items", "warm_mask",
    "cold_valid_items", "kg_degree",
)  # fmt: skip


def write_run(
    out_dir: Path,
    snapshot: GraphSnapshot,
    model: TailgraphModel,
    data: TrainData,
    metrics: dict[str, Any],
    config: dict[str, Any],
    report: Any = None,
) -> Path:
    """Write a complete run directory atomically; `report(dir, metrics)` adds report files."""
    out_dir = Path(out_dir)
    with atomic_dir(out_dir) as tmp:
        full_config = {
            **config,
            "tailgraph": model.config_dict(),
            "relation_names": data.relation_names,
            "user_attributes": [asdict(column) for column in data.user_attr_columns],
            "num_users": data.num_users,
            "num_items": data.num_items,
            "num_entities": data.num_entities,
        }
        (tmp / "config.json").write_text(json.dumps(full_config, indent=2, default=str))
        snapshot.items[["id", "title", "description"]].to_parquet(tmp / "items.parquet")
        snapshot.users.to_parquet(tmp / "users.parquet")
        kg_entities = snapshot.entities.iloc[data.kg_entities.cpu().numpy()].reset_index(drop=True)
        kg_entities.to_parquet(tmp / "entities.parquet")
        # Tensors are written from the CPU whatever device trained them.
        state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
        save_file(state, str(tmp / "model.safetensors"))
        tensors = {name: getattr(data, name).cpu().contiguous() for name in DATA_TENSORS}
        tensors["warm_mask"] = tensors["warm_mask"].to(torch.uint8)
        # The split's evaluation sets, so `tailgraph evaluate` needs nothing but the run.
        for kind in ("seen", "relevant"):
            for part, (pointer, items) in getattr(data, kind).items():
                tensors[f"{kind}.{part}.pointer"] = pointer.cpu().contiguous()
                tensors[f"{kind}.{part}.items"] = items.cpu().contiguous()
        save_file(tensors, str(tmp / "data.safetensors"))
        model.refresh()
        cache = model.cached()
        all_users = torch.arange(data.num_users, device=data.device)
        users = model.user_vectors(all_users, cache["cf_users"], cache["items"]).detach()
        save_file(
            {"items": cache["items"].cpu().contiguous(), "users": users.cpu().contiguous()},
            str(tmp / "embeddings.safetensors"),
        )
        (tmp / "metrics.json").write_text(json.dumps(metrics, indent=2))
        if report is not None:
            report(tmp, metrics)
    return out_dir


def load_run(run_dir: Path) -> tuple[TailgraphModel, TrainData, dict[str, Any]]:
    """Rebuild the trained model and its serving data from a run directory."""
    run_dir = Path(run_dir)
    config = json.loads((run_dir / "config.json").read_text())
    tensors = load_file(str(run_dir / "data.safetensors"))
    # Runs written before the cold validation set and the KG-degree groups existed.
    tensors.setdefault("cold_valid_items", torch.zeros(0, dtype=torch.long))
    tensors.setdefault("kg_degree", torch.zeros(config["num_items"], dtype=torch.long))
    data = TrainData(
        num_users=config["num_users"],
        num_items=config["num_items"],
        num_entities=config["num_entities"],
        relation_names=config["relation_names"],
        user_attr_columns=[AttributeColumn(**column) for column in config["user_attributes"]],
        **{name: tensors[name] for name in DATA_TENSORS if name != "warm_mask"},
        warm_mask=tensors["warm_mask"].bool(),
    )
    for key, tensor in tensors.items():
        if key.startswith(("seen.", "relevant.")) and key.endswith(".pointer"):
            kind, part, _ = key.split(".")
            getattr(data, kind)[part] = (tensor, tensors[f"{kind}.{part}.items"])
    model = TailgraphModel(data, TailgraphConfig.model_validate(config["tailgraph"]))
    model.load_state_dict(load_file(str(run_dir / "model.safetensors")))
    model.eval()
    model.refresh()
    return model, data, config


def read_tables(run_dir: Path) -> dict[str, pd.DataFrame]:
    return {
        name: pd.read_parquet(Path(run_dir) / f"{name}.parquet")
        for name in ("items", "users", "entities")
    }
