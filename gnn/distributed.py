"""Data-parallel training over processes: `torch.distributed` with `DistributedDataParallel`.

Launch: `torchrun --nproc-per-node N -m tailgraph.api.cli train …` (what `tailgraph train
--nproc N` runs) or `torchrun --nproc-per-node N bench/quality.py …`. torchrun sets
`RANK`, `WORLD_SIZE`, `LOCAL_RANK` and the rendezvous address; `init_from_env` joins the
group — gloo on the CPU, NCCL on CUDA (rank r on `cuda:LOCAL_RANK`). Without torchrun
(`WORLD_SIZE` unset or 1) every function here is the single-process identity, so `fit`
has one code path.

One step on N ranks computes what one process computes with the same global batch B
(`train.batch_size` is the global batch; each rank holds b_r ≈ B/N of its rows):

- every rank draws the epoch's permutation, the batch and its negatives from the same
  seeded generator — the single process's stream — and keeps its own contiguous rows
  (`shard`): the shards of an epoch are disjoint and cover it;
- rank r scales its loss by w_r = N·b_r/B; DDP averages the gradients over the N ranks, so
  the all-reduced gradient is

      (1/N) Σ_r w_r ∇[(1/b_r) Σ_{i ∈ r} ℓ_i] = (1/B) Σ_i ∇ℓ_i,

  the gradient of the batch-mean loss, also when B is not a multiple of N (the epoch's
  last batch); a term that does not depend on the batch (the same on every rank) passes
  through unchanged since Σ_r b_r = B. Every rank then takes the same Adam step.
- Draws a model makes while computing its loss (cold-dropout masks, dropout over the whole
  graph) come from torch's global generator, seeded alike on every rank; as long as their
  size does not depend on the shard they are the single process's draws too.

Graph tensors (adjacency, KG, text features) are replicated: every rank builds the model
from the same data. Validation, tuning, evaluation and the run directory are rank 0's; the
validation score reaches the other ranks by broadcast, so all stop at the same epoch.
"""

from __future__ import annotations

import atexit
import datetime
import os
import sys
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

T = TypeVar("T")

# Rank 0 validates, tunes and evaluates while the others wait at the next collective; the
# default 30 minutes could run out on a large catalogue's evaluation.
TIMEOUT = datetime.timedelta(hours=4)


def launched() -> bool:
    """Started by torchrun (or another launcher) with more than one process."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def active() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank() -> int:
    return dist.get_rank() if active() else 0


def world_size() -> int:
    return dist.get_world_size() if active() else 1


def is_main() -> bool:
    return rank() == 0


def init_from_env(device: torch.device) -> torch.device:
    """Join the process group torchrun describes (once per process); the rank's device.

    gloo for the CPU, NCCL for CUDA, where rank r trains on `cuda:LOCAL_RANK`. Not launched:
    `device` unchanged and nothing initialised.
    """
    if not launched():
        return device
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if device.type == "cuda":
        if local >= torch.cuda.device_count():
            raise ValueError(
                f"train.device: local rank {local} needs cuda:{local}, but only "
                f"{torch.cuda.device_count()} CUDA device(s) are present"
            )
        device = torch.device("cuda", local)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        kwargs: dict[str, Any] = {"device_id": device} if device.type == "cuda" else {}
        dist.init_process_group(backend, timeout=TIMEOUT, **kwargs)
        atexit.register(shutdown)
    return device


def shutdown() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def shard(batch_size: int) -> tuple[slice, float]:
    """This rank's rows of a global batch of `batch_size` rows and its loss weight N·b_r/B.

    Contiguous slices as `torch.tensor_split` makes them (sizes differ by at most one). A
    rank left without rows (a last batch smaller than N) still takes part in the
    all-reduce: it computes the loss of row 0 with weight 0.
    """
    n = world_size()
    if n == 1:
        return slice(0, batch_size), 1.0
    base, extra = divmod(batch_size, n)
    r = rank()
    start = r * base + min(r, extra)
    stop = start + base + (1 if r < extra else 0)
    if stop == start:
        return slice(0, 1), 0.0
    return slice(start, stop), n * (stop - start) / batch_size


def take_rows(negatives: Any, rows: slice) -> Any:
    """A rank's rows of a batch's negatives: [B, k] per-user negatives, or a shared draw
    (`SharedNegatives`: every rank scores the same items, masked by its own users' rows)."""
    if isinstance(negatives, torch.Tensor):
        return negatives[rows]
    return type(negatives)(negatives.items, negatives.own[rows])


class StepLoss(nn.Module):
    """`model.loss` as a module's forward: what DDP wraps (its gradient hooks need the
    forward pass to run through it)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, users: torch.Tensor, pos: torch.Tensor, neg: Any) -> torch.Tensor:
        return self.model.loss(users, pos, neg)  # type: ignore[operator]


def data_parallel(model: nn.Module) -> nn.Module:
    """The module whose forward is one step's loss: DDP over `model` when several ranks
    train, else `model.loss` itself.

    `find_unused_parameters`: a model may own parameters its loss does not read (the
    content tower's entity table without KG propagation); without it DDP would wait
    forever for their gradients. Buffers are derived from the data (adjacency, text,
    counts) and identical on every rank by construction: never broadcast, so sparse
    buffers and per-step cost stay out of it. Parameters are broadcast from rank 0 once.
    """
    step = StepLoss(model)
    if not active():
        return step
    device = next(model.parameters()).device
    with warnings.catch_warnings():
        # torch 2.13 deprecates `broadcast_buffers` but says to keep `broadcast_buffers=False`
        # for buffers that must stay out of the initial sync until a replacement exists;
        # `forward_sync_buffers=False` still broadcasts them there, which fails on the sparse
        # CSR adjacency ("Sparse CSR tensors do not have is_contiguous").
        warnings.filterwarnings("ignore", "`broadcast_buffers` is deprecated", FutureWarning)
        return DistributedDataParallel(
            step,
            device_ids=[device.index] if device.type == "cuda" else None,
            broadcast_buffers=False,
            find_unused_parameters=True,
        )


def from_main(compute: Callable[[], T]) -> T:
    """`compute()` on rank 0, its result on every rank (pickled broadcast). Other ranks
    do not call `compute`."""
    if not active():
        return compute()
    box: list[Any] = [compute() if is_main() else None]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def rng_states() -> list[torch.Tensor]:
    """torch's global CPU generator state of every rank, in rank order (a collective).

    They stay equal unless a model draws per-shard amounts (neighbour sampling of the
    shard's items); a checkpoint keeps them all, so a resumed rank draws what it would
    have."""
    state = torch.get_rng_state()
    if not active():
        return [state]
    states: list[Any] = [None] * world_size()
    dist.all_gather_object(states, state)
    return states


def barrier() -> None:
    if active():
        dist.barrier()


def torchrun_command(nproc: int, *target: str) -> list[str]:
    """The torchrun command that runs `target` (`-m module args…` or `script args…`) in
    `nproc` processes on this machine (`--standalone`: a rendezvous on a free local port)."""
    return [sys.executable, "-m", "torch.distributed.run", "--standalone",
            f"--nproc-per-node={nproc}", *target]  # fmt: skip
