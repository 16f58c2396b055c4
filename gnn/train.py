"""Mini-batch training with early stopping on validation NDCG@20 — one loop for every model.

Each epoch shuffles the training interactions into batches of (user, positive
item); negatives are drawn uniformly from the warm items the user has not interacted
with in training (cold items never appear in training, not even as negatives; a
draw that hits one of the user's own items is re-drawn, as BPR defines and RecBole
does — without it a heavy user's positives are pushed down as negatives, measured
in docs/decisions.md). A model with `shared_negatives` gets one draw per batch that
every user scores (`SharedNegatives`, the user's own training items masked): one
matrix product instead of a gather per user. After each epoch the model is scored on the
validation set; the best state is kept, and training stops after `patience`
epochs without improvement. The same budget (max epochs, patience, learning
rate, batch size) is given to every trainable model in the harness.

Device: the model and the data's tensors live on `TrainConfig.device` (`auto`: CUDA when
present, else CPU). Batches and negatives are drawn on the CPU from a seeded generator
and then moved, so every device trains on the same sequence of batches and negatives.
"""

from __future__ import annotations

import copy
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field
from tailgraph.encoders import resolve_device
from tailgraph.gnn import distributed
from tailgraph.gnn.checkpoint import Progress, fingerprint, restore, save
from tailgraph.gnn.data import TrainData
from tailgraph.gnn.evaluate import evaluate
from tailgraph.gnn.models.base import Recommender, SharedNegatives
from tqdm import tqdm


class TrainConfig(BaseModel):
    """The training budget, the same for every trainable model (`--set train.<field>=…`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    epochs: int = Field(60, ge=1, description="Maximum epochs.")
    min_epochs: int = Field(
        10, ge=0, description="No early stop before this: slow starters are not cut short."
    )
    batch_size: int = Field(2048, ge=1)
    lr: float = Field(5e-3, gt=0)
    patience: int = Field(
        10, ge=1, description="Epochs without a better validation score before stopping "
        "(RecBole's default stopping_step; 5 stopped in transient dips)."
    )  # fmt: skip
    seed: int = 0
    progress: bool = True
    device: str = Field(
        "auto", description="auto (CUDA when present, else CPU), cpu, cuda, cuda:N."
    )
    checkpoint_dir: str = Field(
        "", description="Per-model checkpoints after every epoch, resumed by a re-run with "
        "the same settings (`gnn.checkpoint`); empty = none."
    )  # fmt: skip


# Settings that do not change what training computes (runs repeat across devices).
NOT_IN_FINGERPRINT = {"progress", "device", "checkpoint_dir"}


@dataclass
class TrainResult:
    best_epoch: int
    best_valid_ndcg: float
    epochs_run: int
    seconds: float
    curve: list[float] = field(default_factory=list)


def training_device(requested: str = "auto") -> torch.device:
    """The torch device for `requested` (auto, cpu, cuda, cuda:N); a clear error when it is
    not usable here (`encoders.resolve_device`, the one resolver)."""
    return resolve_device(requested, setting="train.device", kinds=("cpu", "cuda"))


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def validation_ndcg(model: Recommender, data: TrainData, part: str | None = None) -> float:
    """NDCG@20 on a validation part ("valid", "cold_valid", "hybrid_valid"); without one,
    the sum over the model's `validation_parts` (what early stopping and `tune` select on)."""
    model.eval()
    model.refresh()
    total = 0.0
    for name in (part,) if part is not None else model.validation_parts:
        metrics = evaluate(model.score, data, name, with_buckets=False, ks=(20,))
        total += float(metrics["overall"].get("ndcg@20", float("nan")))  # type: ignore[attr-defined]
    return total


def has_validation(data: TrainData) -> bool:
    """Whether the data holds a warm validation set (a serving run trained on every
    interaction has none)."""
    pointer = data.relevant.get("valid", (torch.zeros(1, dtype=torch.long), None))[0]
    return bool((pointer.diff() > 0).any())


class NegativeSampler:
    """Uniform negatives over `items`, re-drawn while they are the user's training items
    (`sample`), or one uniform draw shared by the batch with each user's own training items
    masked (`shared`)."""

    # Up to this many user × item cells the membership test is a dense boolean lookup
    # (50 MB); beyond, a binary search over the sorted keys of the training pairs.
    DENSE_LIMIT = 50_000_000

    def __init__(self, data: TrainData, items: torch.Tensor, generator: torch.Generator) -> None:
        # On the CPU, with the CPU generator, whatever device the model is on.
        self.items, self.generator = items.cpu(), generator
        self.num_items = data.num_items
        users, positives = data.train_user.cpu(), data.train_item.cpu()
        self.dense: torch.Tensor | None = None
        if data.num_users * data.num_items <= self.DENSE_LIMIT:
            self.dense = torch.zeros(data.num_users, data.num_items, dtype=torch.bool)
            self.dense[users, positives] = True
        # Sorted keys user·I + item of every training pair, for a vectorised membership test.
        self.seen = torch.unique(users * data.num_items + positives)

    def _is_seen(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        if self.dense is not None:
            return self.dense[users, items]
        keys = users * self.num_items + items
        pos = torch.searchsorted(self.seen, keys).clamp(max=len(self.seen) - 1)
        return self.seen[pos] == keys

    def sample(self, users: torch.Tensor, count: int, max_rounds: int = 20) -> torch.Tensor:
        users = users.unsqueeze(1).expand(-1, count).reshape(-1)
        pick = torch.randint(len(self.items), users.shape, generator=self.generator)
        negatives = self.items[pick]
        todo = torch.arange(len(users))
        for _ in range(max_rounds):
            # Only the draws that hit a training item are checked again: the others stay.
            todo = todo[self._is_seen(users[todo], negatives[todo])]
            if not len(todo):
                break
            redraw = torch.randint(len(self.items), (len(todo),), generator=self.generator)
            negatives[todo] = self.items[redraw]
        return negatives.view(-1, count)

    def shared(self, users: torch.Tensor, count: int) -> SharedNegatives:
        items = self.items[torch.randint(len(self.items), (count,), generator=self.generator)]
        grid = users.unsqueeze(1).expand(-1, count)
        return SharedNegatives(items, self._is_seen(grid, items.expand_as(grid)))


def train_step(
    step: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    users: torch.Tensor,
    pos: torch.Tensor,
    neg: torch.Tensor | SharedNegatives,
    device: torch.device,
) -> torch.Tensor:
    """One optimiser step on a global batch (`step`: `gnn.distributed.data_parallel`).

    Under torchrun, this rank computes the loss of its rows only, weighted so that the
    all-reduced gradient is the single process's gradient of the whole batch.
    """
    rows, weight = distributed.shard(len(users))
    neg = distributed.take_rows(neg, rows).to(device)
    loss = weight * step(users[rows].to(device), pos[rows].to(device), neg)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss


def fit(
    model: Recommender, data: TrainData, config: TrainConfig, checkpoint: Path | None = None
) -> TrainResult:
    """Train `model` on `data`'s device (see `TrainData.to`); returns the best epoch's state.

    With `checkpoint`, the state after every epoch is saved there (`gnn.checkpoint`), and a
    checkpoint already there for the same settings is resumed: the same batches, negatives
    and random draws follow, so an interrupted run ends as an uninterrupted one would (to
    floating-point summation order); one that had finished is restored without training.
    `seconds` counts this call only.
    """
    started = time.perf_counter()
    device = data.device
    model.to(device)
    if not model.trainable:
        score = distributed.from_main(lambda: validation_ndcg(model, data))
        return TrainResult(0, score, 0, time.perf_counter() - started)
    seed_everything(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    sampler = NegativeSampler(data, torch.nonzero(data.warm_mask).flatten(), generator)
    num_negatives = getattr(model, "num_negatives", 1)
    shared = getattr(model, "shared_negatives", False)
    # A model whose validation curve dips before it rises (XSimGCL's contrastive phase) may
    # ask not to be stopped earlier; max epochs and patience stay the common budget.
    min_epochs = max(config.min_epochs, getattr(model, "min_epochs", 0))
    train_user, train_item = data.train_user.cpu(), data.train_item.cpu()
    n = len(train_user)
    # Without a validation set (a serving run on every interaction) every epoch of the
    # budget runs and the last one is kept.
    validated = has_validation(data)
    progress, best_state, key = Progress(), None, ""
    if checkpoint is not None:  # the fingerprint hashes the training pairs: only when needed
        key = fingerprint(model, data, config.model_dump(exclude=NOT_IN_FINGERPRINT))
        restored = restore(checkpoint, key, model, optimizer, generator, distributed.rank())
        if restored is not None:
            progress, best_state = restored
            if config.progress and distributed.is_main():
                done = progress.finished or progress.epoch >= config.epochs
                state = "finished" if done else f"epoch {progress.epoch}"
                print(f"{model.name}: resuming from {checkpoint} ({state})", flush=True)
    bar = tqdm(range(progress.epoch + 1, config.epochs + 1), desc=model.name, leave=False,
               initial=progress.epoch, total=config.epochs,
               disable=not config.progress or progress.finished
               or not distributed.is_main())  # fmt: skip
    step = distributed.data_parallel(model)  # model.loss, or DDP over it under torchrun
    for epoch in [] if progress.finished else bar:
        model.train()
        order = torch.randperm(n, generator=generator)
        for start in range(0, n, config.batch_size):
            batch = order[start : start + config.batch_size]
            users, pos = train_user[batch], train_item[batch]
            neg = (sampler.shared if shared else sampler.sample)(users, num_negatives)
            loss = train_step(step, optimizer, users, pos, neg, device)
        # Rank 0 validates; without a validation set every epoch of the budget runs.
        score = (
            distributed.from_main(lambda: validation_ndcg(model, data))
            if validated
            else float("nan")
        )
        progress.epoch = epoch
        progress.curve.append(score)
        bar.set_postfix(valid_ndcg20=f"{score:.4f}", loss=f"{loss.item():.4f}")
        if score > progress.best or not validated:
            progress.best, progress.best_epoch, progress.stale = score, epoch, 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            progress.stale += 1
        stop = validated and progress.stale >= config.patience and epoch >= min_epochs
        progress.finished = stop  # early stopping; a larger epoch budget may continue
        if checkpoint is not None:
            states = distributed.rng_states()
            if distributed.is_main():
                save(checkpoint, key, progress, model, best_state, optimizer, generator, states)
        if stop:
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    model.refresh()
    return TrainResult(progress.best_epoch, progress.best, progress.epoch,
                       time.perf_counter() - started, progress.curve)  # fmt: skip
