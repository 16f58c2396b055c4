"""Data-parallel training (`gnn.distributed`): 2 processes under torchrun (gloo, CPU) train as
one process does, on the tiny sample's real graph and text features.

Each run is a subprocess with a timeout (`ddp_worker.py`: the same code for 1 and 2
processes), so a hung collective fails the test instead of hanging the suite.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from tailgraph.encoders import TextEncoder
from tailgraph.gnn.checkpoint import describe
from tailgraph.gnn.data import TrainData
from tailgraph.gnn.distributed import torchrun_command
from tailgraph.gnn.harness import HarnessConfig, run_comparison
from tailgraph.gnn.train import TrainConfig
from tailgraph.kg.snapshot import GraphSnapshot

pytestmark = pytest.mark.slow

WORKER = Path(__file__).with_name("ddp_worker.py")
TIMEOUT_S = 600  # a loaded 2-core machine; a hung collective would wait for hours
EXACT = ("tailgraph_no_cold_dropout", "tailgraph_no_kg", "tailgraph_kg_attention",
         "tailgraph_kg_cf_base", "lightgcn", "bpr_mf", "kg_concat_mlp", "attr_cf")  # fmt: skip


def _worker(nproc: int, *args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    target = [str(WORKER), *map(str, args)]
    command = torchrun_command(nproc, *target) if nproc > 1 else [sys.executable, *target]
    return subprocess.run(command, capture_output=True, text=True, env=env,
                          timeout=TIMEOUT_S, check=False)  # fmt: skip


def _ok(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, result.stderr[-4000:]


@pytest.fixture(scope="module")
def data_file(tiny_data: TrainData, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ddp") / "data.pt"
    torch.save(tiny_data, path)
    return path


@pytest.fixture(scope="module")
def steps(data_file: Path) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    one, two = data_file.with_name("one.safetensors"), data_file.with_name("two.safetensors")
    _ok(_worker(1, "steps", data_file, one))
    _ok(_worker(2, "steps", data_file, two))
    return load_file(str(one)), load_file(str(two))


def _by_model(tensors: dict[str, torch.Tensor], kind: str, model: str) -> dict[str, torch.Tensor]:
    prefix = f"{kind}.{model}."
    return {k.removeprefix(prefix): v for k, v in tensors.items() if k.startswith(prefix)}


def test_ddp_two_processes_take_the_single_process_gradient_step_to_1e_5(steps) -> None:  # type: ignore[no-untyped-def]
    one, two = steps
    assert int(one["world_size"]) == 1 and int(two["world_size"]) == 2
    for model in EXACT:
        # Plain SGD at learning rate 1: the parameters move by the gradient itself, here of
        # a 101-row batch (shards of 51 and 50) and of a 1-row batch (rank 1 holds none).
        a, b = _by_model(one, "sgd", model), _by_model(two, "sgd", model)
        assert a and a.keys() == b.keys()
        for name in a:
            assert torch.allclose(a[name], b[name], atol=1e-5, rtol=0), (model, name)
    # The default model's alignment term averages over each shard's warm positives (cold
    # dropout makes their count differ by shard): the step stays within 0.1 % of the
    # single process's; a missing shard weight or a wrong batch would be off by far more.
    a, b = _by_model(one, "sgd", "tailgraph"), _by_model(two, "sgd", "tailgraph")
    moved = torch.cat([(a[k] - b[k]).flatten() for k in a]).norm()
    scale = torch.cat([a[k].flatten() for k in a]).norm()
    assert 0 <= moved / scale < 1e-3


def test_ddp_one_adam_fit_step_matches_the_single_process_step(steps) -> None:  # type: ignore[no-untyped-def]
    # Adam's first step is lr·g/(|g| + ε) per entry: where a gradient entry is near ε, a
    # float summation difference (1e-8, the SGD test above) moves it by up to lr. So nearly
    # every entry must agree to 1e-5; a rank stepping on its own shard's gradient, or on
    # the wrong rows, changes the sign of the step for a large share of the entries.
    one, two = steps
    for model in ("tailgraph", *EXACT):
        a, b = _by_model(one, "adam", model), _by_model(two, "adam", model)
        assert a and a.keys() == b.keys()
        differ = torch.cat([((a[k] - b[k]).abs() > 1e-5).flatten() for k in a])
        assert differ.float().mean() <= 0.005, (model, int(differ.sum()), len(differ))


def test_ddp_validation_curves_with_an_uneven_last_batch_match(steps) -> None:  # type: ignore[no-untyped-def]
    one, two = steps
    for model in EXACT:
        a, b = one[f"curve.{model}"], two[f"curve.{model}"]
        assert len(a) == 3
        assert torch.allclose(a, b, atol=1e-4, rtol=0), (model, a.tolist(), b.tolist())


def test_distributed_checkpoint_is_written_by_rank_0_and_resumes(
    data_file: Path, tmp_path: Path
) -> None:
    uninterrupted = tmp_path / "uninterrupted.safetensors"
    _ok(_worker(2, "fit", data_file, uninterrupted, tmp_path / "reference" / "tg.safetensors"))
    folder = tmp_path / "checkpoints"
    checkpoint = folder / "tg.safetensors"
    crashed = _worker(2, "crash", data_file, tmp_path / "unused.safetensors", checkpoint)
    assert crashed.returncode != 0  # the group stops when a rank fails
    assert "KeyboardInterrupt" in crashed.stderr
    assert [p.name for p in folder.iterdir()] == ["tg.safetensors"]  # one writer, no temp
    assert describe(checkpoint)["epoch"] == 2
    resumed = tmp_path / "resumed.safetensors"
    _ok(_worker(2, "fit", data_file, resumed, checkpoint))
    expected, got = load_file(str(uninterrupted)), load_file(str(resumed))
    assert torch.allclose(got["curve"], expected["curve"], atol=1e-6, rtol=0)
    for name, value in expected.items():
        assert torch.allclose(got[name], value, atol=1e-4, rtol=0), name
    assert describe(checkpoint)["epoch"] == 4


def test_train_nproc_2_writes_one_run_with_the_single_process_metrics(
    tiny_snapshot: GraphSnapshot,
    server_home: Path,
    encoder: TextEncoder,
    cache_dir: Path,
    tmp_path: Path,
) -> None:
    # `tiny_snapshot` imported the tiny sample into graph "gnn_tiny" on the shared server.
    models, epochs = ("tailgraph", "lightgcn", "bpr_mf", "mostpop"), 3
    out = tmp_path / "runs" / "tiny"
    env = {**os.environ, "TAILGRAPH_HOME": str(server_home), "TAILGRAPH_GRAPH_NAME": "gnn_tiny"}
    result = subprocess.run(
        [sys.executable, "-m", "tailgraph.api.cli", "train", "--nproc", "2", "--threads", "1",
         "--out", str(out), "--name", "tiny", "--set", f"models={','.join(models)}",
         "--set", f"train.epochs={epochs}", "--set", "train.min_epochs=0",
         "--set", "train.batch_size=128", "--set", "train.progress=false"],
        capture_output=True, text=True, env=env, timeout=TIMEOUT_S, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-4000:]
    assert result.stdout.count("run written to") == 1  # rank 0 alone reports and writes
    assert sorted(p.name for p in out.parent.iterdir()) == ["tiny"]  # checkpoints removed
    stored = json.loads((out / "metrics.json").read_text())
    assert stored["processes"] == 2 and set(stored["models"]) == set(models)

    config = HarnessConfig(
        models=models,
        train=TrainConfig(epochs=epochs, min_epochs=0, batch_size=128, progress=False),
    )
    single = run_comparison(tiny_snapshot, config, "tiny", encoder, cache_dir, verbose=False)
    for model in ("lightgcn", "bpr_mf", "mostpop"):
        ours, reference = stored["models"][model], single.metrics["models"][model]
        assert ours["best_epoch"] == reference["best_epoch"]
        for block in ("overall", "cold"):
            for metric, value in reference[block].items():
                assert ours[block][metric] == pytest.approx(value, abs=1e-6), (model, metric)
    ours, reference = stored["models"]["tailgraph"], single.metrics["models"]["tailgraph"]
    assert ours["overall"]["ndcg@20"] == pytest.approx(reference["overall"]["ndcg@20"], abs=0.02)
