"""Harness settings from a flat dict (`--config FILE` JSON and `--set key=value` overrides).

Keys: `seed`, `cold_fraction`, `cold_valid_fraction`, `split_order`, `text`, `models`
(list or comma-separated), `train.<field>` (`gnn.train.TrainConfig`) and
`tailgraph.<field>` (`TailgraphConfig`). Values may be strings (`--set train.epochs=5`):
pydantic validates and converts them, and a mistake is one line naming the setting.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from tailgraph.gnn.harness import HarnessConfig
from tailgraph.gnn.train import training_device


class SettingsError(ValueError):
    """A harness setting that does not exist or does not validate."""


def nested(raw: dict[str, Any]) -> dict[str, Any]:
    """`{"train.epochs": "5"}` → `{"train": {"epochs": "5"}}` (JSON files may nest already)."""
    out: dict[str, Any] = {}
    for key, value in raw.items():
        head, dot, rest = key.partition(".")
        if dot:
            group = out.setdefault(head, {})
            if not isinstance(group, dict):
                raise SettingsError(f"{key}: {head!r} is a setting, not a group of settings")
            group[rest] = value
        elif isinstance(value, dict):
            out.setdefault(key, {}).update(value)
        else:
            out[key] = value
    return out


def harness_config(raw: dict[str, Any]) -> HarnessConfig:
    try:
        config = HarnessConfig.model_validate(nested(raw))
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            where = ".".join(str(part) for part in error["loc"]) or "settings"
            found = error.get("input")
            shown = "" if error["type"] == "extra_forbidden" or isinstance(found, dict) else (
                f" (got {found!r})"
            )  # fmt: skip
            message = "unknown setting" if error["type"] == "extra_forbidden" else error["msg"]
            problems.append(f"{where}: {message}{shown}")
        raise SettingsError("; ".join(problems)) from None
    training_device(config.train.device)  # an unusable device fails here, before any work
    return config
