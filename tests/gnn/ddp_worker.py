"""The training runs `test_distributed.py` compares: run by torchrun in 2 processes (gloo) and
imported by the test for the single-process reference (the same code either way).

    torchrun --standalone --nproc-per-node 2 tests/gnn/ddp_worker.py PHASE DATA OUT [CKPT]

PHASE `steps`: per model, the parameters after two plain SGD steps at learning rate 1 on
an uneven global batch of 101 rows and then one of 1 row (so parameter differences are
gradient differences; the one-row batch leaves rank 1 without rows), the parameters after
one `fit` step (Adam, one batch per epoch) and the validation curve of a 3-epoch `fit`
with batches of 101 (the epoch's last batch is uneven). PHASE `fit`: the default model for
4 epochs with checkpoints in CKPT; `crash` does the same but fails while validating
epoch 3. Rank 0 writes OUT (safetensors).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file
from tailgraph.gnn import distributed
from tailgraph.gnn import train as gnn_train
from tailgraph.gnn.data import TrainData
from tailgraph.gnn.harness import FACTORIES, HarnessConfig, RunContext
from tailgraph.gnn.models.base import Recommender
from tailgraph.gnn.models.tailgraph import TailgraphConfig
from tailgraph.gnn.train import NegativeSampler, TrainConfig, fit, seed_everything, train_step

# Every trainable model: the default Tailgraph (KG propagation from the CF tower), variants
# without the KG, with attention propagation and with the KG term's gradient reaching the CF
# embeddings, and every trainable baseline. Without cold dropout Tailgraph's loss is a mean
# over the batch rows; with it (the default) the alignment term averages over the batch's
# warm positives, a count that differs per shard (`gnn.distributed`).
MODELS: dict[str, tuple[str, dict[str, Any]]] = {
    # The product model ("tailgraph") trains these two and keeps the better on validation.
    "tailgraph": ("tailgraph_kg", {}),
    "tailgraph_no_kg": ("tailgraph_no_kg", {"cold_dropout": 0.0}),
    "tailgraph_no_cold_dropout": ("tailgraph_kg", {"cold_dropout": 0.0}),
    "tailgraph_kg_attention": ("tailgraph_kg_attention", {"cold_dropout": 0.0}),
    "tailgraph_kg_cf_base": (
        "tailgraph_kg", {"kg_source": "base", "kg_detach": False, "cold_dropout": 0.0}
    ),
    "lightgcn": ("lightgcn", {}),
    "bpr_mf": ("bpr_mf", {}),
    "kg_concat_mlp": ("kg_concat_mlp", {}),
    "attr_cf": ("attr_cf", {}),
}  # fmt: skip
SEED = 3


def build(name: str, data: TrainData) -> Recommender:
    factory, changes = MODELS[name]
    seed_everything(SEED)  # as the harness does: the initialisation comes from the seed
    config = HarnessConfig(seed=SEED, tailgraph=TailgraphConfig(**changes))
    model = FACTORIES[factory](RunContext(config, data, None))
    assert isinstance(model, Recommender)  # a model to fit, not a selection among fitted ones
    return model


def params(model: Recommender, prefix: str) -> dict[str, torch.Tensor]:
    return {
        f"{prefix}.{k}": v.detach().cpu().clone().contiguous()
        for k, v in model.state_dict().items()
        if v.dtype.is_floating_point
    }


def sgd_steps(name: str, data: TrainData) -> dict[str, torch.Tensor]:
    model = build(name, data)
    generator = torch.Generator().manual_seed(SEED)
    sampler = NegativeSampler(data, torch.nonzero(data.warm_mask).flatten(), generator)
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
    step = distributed.data_parallel(model)
    model.train()
    for size in (101, 1):
        batch = torch.randperm(len(data.train_user), generator=generator)[:size]
        users, pos = data.train_user[batch], data.train_item[batch]
        draw = sampler.shared if getattr(model, "shared_negatives", False) else sampler.sample
        neg = draw(users, getattr(model, "num_negatives", 1))
        train_step(step, optimizer, users, pos, neg, data.device)
    return params(model, f"sgd.{name}")


def run_steps(data: TrainData) -> dict[str, torch.Tensor]:
    out: dict[str, torch.Tensor] = {}
    one_step = TrainConfig(epochs=1, min_epochs=0, batch_size=len(data.train_user),
                           progress=False, seed=SEED)  # fmt: skip
    uneven = TrainConfig(epochs=3, min_epochs=0, batch_size=101, progress=False, seed=SEED)
    for name in MODELS:
        out.update(sgd_steps(name, data))
        model = build(name, data)
        fit(model, data, one_step)
        out.update(params(model, f"adam.{name}"))
        result = fit(build(name, data), data, uneven)
        out[f"curve.{name}"] = torch.tensor(result.curve, dtype=torch.float64)
    return out


FIT = TrainConfig(epochs=4, min_epochs=4, batch_size=128, progress=False, seed=SEED)


def run_fit(data: TrainData, checkpoint: Path, crash: bool) -> dict[str, torch.Tensor]:
    if crash:  # fail while validating epoch 3: epoch 2's checkpoint is what survives
        real, calls = gnn_train.validation_ndcg, {"n": 0}

        def crash_on_third(model: Recommender, data: TrainData) -> float:
            calls["n"] += 1
            if calls["n"] == 3:
                raise KeyboardInterrupt
            return real(model, data)

        gnn_train.validation_ndcg = crash_on_third  # type: ignore[assignment]
    model = build("tailgraph", data)
    torch.manual_seed(12345)  # a resumed run takes its generators from the checkpoint
    result = fit(model, data, FIT, checkpoint)
    return {"curve": torch.tensor(result.curve, dtype=torch.float64), **params(model, "fit")}


def main(phase: str, data_path: Path, out: Path, checkpoint: Path | None = None) -> None:
    torch.set_num_threads(1)
    distributed.init_from_env(torch.device("cpu"))
    data: TrainData = torch.load(data_path, weights_only=False)
    if phase == "steps":
        tensors = run_steps(data)
    else:
        assert checkpoint is not None
        tensors = run_fit(data, checkpoint, crash=phase == "crash")
    tensors["world_size"] = torch.tensor(distributed.world_size())
    if distributed.is_main():
        save_file(tensors, str(out))


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]),
         Path(sys.argv[4]) if len(sys.argv) > 4 else None)  # fmt: skip
