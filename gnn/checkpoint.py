"""Training checkpoints: an interrupted `fit` resumes where it stopped, with the same result.

One safetensors file per model, rewritten atomically after every epoch:

- tensors: `model.*` (the weights now), `best.*` (the best epoch's weights), `optim.<i>.<k>`
  (the optimiser's per-parameter state: Adam's step and moments), `rng.batches` (the
  generator of batches and negatives), `rng.cpu` (torch's global CPU generator: cold
  dropout, neighbour sampling, dropout on the CPU), `rng.cpu.<r>` for every rank r > 0 of
  a data-parallel run (`gnn.distributed`: a rank's draws may differ from rank 0's) and
  `rng.cuda` (when on CUDA);
- metadata: the fingerprint, the epoch, the early-stopping state (best score and epoch,
  epochs without improvement, the validation curve, whether it stopped training), and the
  optimiser's parameter groups.

The fingerprint covers every setting that changes the result — the model class, its config
and parameter shapes, the training settings (epoch budget, patience, minimum epochs, batch
size, learning rate, seed), the training pairs and the model's inputs (text embeddings, KG
edges). A checkpoint with another fingerprint belongs to other settings: `fit` starts
afresh and overwrites it, so a finished run is never reused under a changed budget.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import load_file
from safetensors.torch import save as safetensors_bytes
from tailgraph.gnn.data import TrainData
from torch import nn

from tailgraph.atomic import atomic_write_bytes

FORMAT = "tailgraph-checkpoint/1"


@dataclass
class Progress:
    """The early-stopping state after `epoch` epochs."""

    epoch: int = 0
    best: float = -1.0
    best_epoch: int = 0
    stale: int = 0
    curve: list[float] = field(default_factory=list)
    finished: bool = False  # early stopping ended training


def fingerprint(model: nn.Module, data: TrainData, settings: dict[str, Any]) -> str:
    """A hash of everything that decides the result of training `model` on `data`: the
    model class, config and parameter shapes, the training settings (`settings`: budget,
    early stopping, batch, learning rate, seed), the training pairs and the inputs the
    model reads (text embeddings, KG edges)."""
    config = model.config_dict() if hasattr(model, "config_dict") else {}
    inputs = hashlib.sha256()
    for tensor in (data.train_user, data.train_item, data.item_text, data.entity_text,
                   data.kg_edge_index, data.kg_edge_type):  # fmt: skip
        inputs.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    payload = {
        "model": type(model).__name__,
        "config": config,
        "parameters": {k: list(v.shape) for k, v in model.state_dict().items()},
        "settings": settings,
        "inputs": inputs.hexdigest(),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def save(
    path: Path,
    key: str,
    progress: Progress,
    model: nn.Module,
    best_state: dict[str, torch.Tensor] | None,
    optimizer: torch.optim.Optimizer,
    batches: torch.Generator,
    rank_states: list[torch.Tensor] | None = None,
) -> None:
    """`rank_states`: every rank's global CPU generator state, rank 0's first (the
    default: this process's)."""
    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    for k, v in (best_state or {}).items():
        tensors[f"best.{k}"] = v.detach().cpu().contiguous()
    optim = optimizer.state_dict()
    for index, state in optim["state"].items():
        for name, value in state.items():
            tensors[f"optim.{index}.{name}"] = torch.as_tensor(value).cpu().contiguous()
    tensors["rng.batches"] = batches.get_state()
    states = rank_states or [torch.get_rng_state()]
    tensors["rng.cpu"] = states[0]
    for r, state in enumerate(states[1:], start=1):
        tensors[f"rng.cpu.{r}"] = state
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        tensors["rng.cuda"] = torch.cuda.get_rng_state()
    metadata = {
        "format": FORMAT,
        "fingerprint": key,
        "progress": json.dumps(progress.__dict__),
        "param_groups": json.dumps(optim["param_groups"]),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, safetensors_bytes(tensors, metadata=metadata))


def restore(
    path: Path,
    key: str,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    batches: torch.Generator,
    rank: int = 0,
) -> tuple[Progress, dict[str, torch.Tensor] | None] | None:
    """Load `path` into the model, optimiser and generators; None when there is no
    checkpoint there or it was written for another fingerprint (other settings or data).
    `rank` (of a data-parallel run) restores that rank's global generator when the
    checkpoint has it, else rank 0's."""
    if not path.exists():
        return None
    with safe_open(str(path), "pt") as handle:
        metadata = handle.metadata() or {}
    if metadata.get("format") != FORMAT or metadata.get("fingerprint") != key:
        return None
    tensors = load_file(str(path))
    model.load_state_dict(
        {k.removeprefix("model."): v for k, v in tensors.items() if k.startswith("model.")}
    )
    best = {k.removeprefix("best."): v for k, v in tensors.items() if k.startswith("best.")}
    state: dict[int, dict[str, torch.Tensor]] = {}
    for name, value in tensors.items():
        if name.startswith("optim."):
            _, index, field_name = name.split(".", 2)
            state.setdefault(int(index), {})[field_name] = value
    optimizer.load_state_dict(
        {"state": state, "param_groups": json.loads(metadata["param_groups"])}
    )
    batches.set_state(tensors["rng.batches"])
    torch.set_rng_state(tensors.get(f"rng.cpu.{rank}", tensors["rng.cpu"]))
    if "rng.cuda" in tensors and torch.cuda.is_available():
        torch.cuda.set_rng_state(tensors["rng.cuda"])
    progress = Progress(**json.loads(metadata["progress"]))
    return progress, (best or None)


def describe(path: Path) -> dict[str, Any]:
    """The metadata of a checkpoint, for people and tests."""
    with safe_open(str(path), "pt") as handle:
        metadata = handle.metadata() or {}
    return {"fingerprint": metadata.get("fingerprint"),
            **json.loads(metadata.get("progress", "{}"))}  # fmt: skip
