"""Harness settings from a flat dict (`--config FILE` JSON and `--set key=value` overrides).

Keys: `seed`, `cold_fraction`, `models` (list or comma-separated), `train.<field>`
(see `gnn.train.TrainConfig`) and `tailgraph.<field>` (see `TailgraphConfig`).
"""

from __future__ import annotations

from dataclasses import asdict, fields
from typing import Any

from tailgraph.gnn.harness import ALL_MODELS, HarnessConfig
from tailgraph.gnn.models.tailgraph import TailgraphConfig
from tailgraph.gnn.train import TrainConfig, training_device


def _coerce(cls: type, key: str, value: Any) -> Any:
    types = {f.name: f.type for f in fields(cls)}
    if key not in types:
        raise ValueError(
            f"{cls.__name__}: unknown setting {key!r}; expected one of {sorted(types)}"
        )
    kind = str(types[key])
    if "bool" in kind and isinstance(value, str):
        return value.lower() in ("1", "true", "yes")
    if "int" in kind and not isinstance(value, bool):
        return int(value)
    if "float" in kind:
        return float(value)
    return value


def harness_config(raw: dict[str, Any]) -> HarnessConfig:
    train: dict[str, Any] = {}
    tailgraph: dict[str, Any] = {}
    top: dict[str, Any] = {}
    for key, value in raw.items():
        if key.startswith("train."):
            name = key.removeprefix("train.")
            train[name] = _coerce(TrainConfig, name, value)
        elif key.startswith("tailgraph."):
            name = key.removeprefix("tailgraph.")
            tailgraph[name] = _coerce(TailgraphConfig, name, value)
        elif key == "models":
            models = value.split(",") if isinstance(value, str) else list(value)
            unknown = sorted(set(models) - set(ALL_MODELS))
            if unknown:
                raise ValueError(f"models: unknown {unknown}; expected some of {list(ALL_MODELS)}")
            top["models"] = tuple(models)
        elif key in ("seed", "cold_fraction"):
            top[key] = _coerce(HarnessConfig, key, value)
        else:
            raise ValueError(
                f"unknown setting {key!r}; "
                "expected seed, cold_fraction, models, train.*, tailgraph.*"
            )
    config = HarnessConfig(
        **top, train=TrainConfig(**train), tailgraph=TailgraphConfig(**tailgraph)
    )
    training_device(config.train.device)  # an unusable device fails here, before any work
    return config


def as_dict(config: HarnessConfig) -> dict[str, Any]:
    return asdict(config)
