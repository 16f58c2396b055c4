"""Sample → graph → snapshot → text → train → evaluate → run dir, for real, on the small sample."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from tailgraph.encoders import TextEncoder
from tailgraph.gnn.harness import HarnessConfig, run_comparison
from tailgraph.gnn.report import write_report
from tailgraph.gnn.run_dir import load_run, write_run
from tailgraph.gnn.train import TrainConfig
from tailgraph.kg.snapshot import GraphSnapshot


@pytest.fixture(scope="module")
def comparison(small_snapshot: GraphSnapshot, encoder: TextEncoder, cache_dir: Path):  # type: ignore[no-untyped-def]
    config = HarnessConfig(
        seed=0,
        models=("tailgraph", "mostpop", "lightgcn", "text_knn"),
        train=TrainConfig(epochs=25, patience=4, progress=False),
    )
    return run_comparison(small_snapshot, config, "sample-small", encoder, cache_dir, verbose=False)


def test_tailgraph_beats_mostpop_overall_and_on_the_tail(comparison) -> None:  # type: ignore[no-untyped-def]
    models = comparison.metrics["models"]
    ours, pop = models["tailgraph"], models["mostpop"]
    assert ours["overall"]["ndcg@20"] > pop["overall"]["ndcg@20"]
    assert ours["tail"]["recall@20"] > pop["tail"]["recall@20"]
    # Cold items: ours ranks them from text + KG; better than LightGCN's untrained IDs.
    assert ours["cold"]["recall@20"] > models["lightgcn"]["cold"]["recall@20"]
    assert set(ours) >= {
        "overall",
        "head",
        "mid",
        "tail",
        "cold",
        "coverage@20",
        "mean_popularity@20",
    }


def test_run_directory_round_trip_and_evaluate_command(
    comparison,
    small_snapshot: GraphSnapshot,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    run = write_run(tmp_path / "run", small_snapshot, comparison.model, comparison.data,
                    comparison.metrics, {"dataset": "sample-small"}, write_report)  # fmt: skip
    for name in ("config.json", "model.safetensors", "data.safetensors", "embeddings.safetensors",
                 "metrics.json", "report.md", "recall_by_bucket.png", "items.parquet"):  # fmt: skip
        assert (run / name).exists(), name
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["dataset"] == "sample-small" and "tailgraph" in metrics["models"]
    assert not list(tmp_path.glob(".run-*"))  # no temp dir left behind
    model, data, _ = load_run(run)
    # The attribute vocabulary travels with the run: serving codes values as training did.
    assert data.user_attr_columns == comparison.data.user_attr_columns
    assert torch.equal(data.user_attr, comparison.data.user_attr)
    from tailgraph.gnn.evaluate import evaluate

    again = evaluate(model.score, data, "test")["overall"]["ndcg@20"]  # type: ignore[index]
    assert again == pytest.approx(metrics["models"]["tailgraph"]["overall"]["ndcg@20"], abs=1e-6)
    result = subprocess.run(
        [sys.executable, "-m", "tailgraph.api.cli", "evaluate", str(run)],
        capture_output=True, text=True, env=os.environ.copy(), check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "tailgraph re-evaluated" in result.stdout


def test_no_cold_items_trains_evaluates_and_writes_a_run(
    tiny_snapshot: GraphSnapshot, encoder: TextEncoder, cache_dir: Path, tmp_path: Path
) -> None:
    # Serving setting: every item's interactions train the model (cold_fraction 0).
    config = HarnessConfig(
        seed=0,
        cold_fraction=0.0,
        models=("tailgraph", "mostpop"),
        train=TrainConfig(epochs=2, min_epochs=1, progress=False),
    )
    result = run_comparison(tiny_snapshot, config, "tiny", encoder, cache_dir, verbose=False)
    assert result.split.cold_items.size == 0
    ours = result.metrics["models"]["tailgraph"]
    assert ours["cold"] == {} and ours["overall"]["ndcg@20"] >= 0.0
    run = write_run(tmp_path / "run", tiny_snapshot, result.model, result.data,
                    result.metrics, {"dataset": "tiny"}, write_report)  # fmt: skip
    assert "cold" in (run / "report.md").read_text()
    evaluated = subprocess.run(
        [sys.executable, "-m", "tailgraph.api.cli", "evaluate", str(run)],
        capture_output=True, text=True, env=os.environ.copy(), check=False,
    )  # fmt: skip
    assert evaluated.returncode == 0, evaluated.stderr


def test_train_command_writes_a_run_and_clears_its_checkpoints(
    tiny_snapshot: GraphSnapshot, server_home: Path, tmp_path: Path
) -> None:
    # `tiny_snapshot` imported the tiny sample into graph "gnn_tiny" on the shared server.
    out = tmp_path / "runs" / "tiny"
    env = {**os.environ, "TAILGRAPH_HOME": str(server_home), "TAILGRAPH_GRAPH_NAME": "gnn_tiny"}
    result = subprocess.run(
        [sys.executable, "-m", "tailgraph.api.cli", "train", "--out", str(out), "--name", "tiny",
         "--set", "models=tailgraph,mostpop", "--set", "train.epochs=2",
         "--set", "train.min_epochs=1", "--set", "train.progress=false"],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    checkpoints = tmp_path / "runs" / ".tiny.checkpoints"
    assert f"checkpointsin{checkpoints}" in "".join(result.stdout.split())  # rich wraps lines
    assert (out / "model.safetensors").exists() and (out / "metrics.json").exists()
    assert not checkpoints.exists()  # written every epoch, removed once the run is complete
    # PyG's sparse-tensor notices ("Sparse invariant checks are implicitly disabled", "CSR
    # support is in beta") printed on every run; the adjacency is valid by construction.
    assert "Sparse" not in result.stderr, result.stderr


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_during_train_says_that_re_running_resumes(
    tiny_snapshot: GraphSnapshot, server_home: Path, tmp_path: Path
) -> None:
    out = tmp_path / "runs" / "tiny"
    checkpoints = tmp_path / "runs" / ".tiny.checkpoints"
    env = {**os.environ, "TAILGRAPH_HOME": str(server_home), "TAILGRAPH_GRAPH_NAME": "gnn_tiny",
           "PYTHONUNBUFFERED": "1"}  # fmt: skip
    command = [sys.executable, "-m", "tailgraph.api.cli", "train", "--out", str(out),
               "--set", "models=tailgraph", "--set", "train.epochs=10000",
               "--set", "train.min_epochs=10000", "--set", "train.progress=false"]  # fmt: skip
    # SIGINT's default disposition in the child even when this suite runs as a background
    # job (a shell starts those with SIGINT ignored, and Python keeps an ignored SIGINT).
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=env, preexec_fn=_default_sigint)  # fmt: skip
    try:
        # Interrupt once the first epoch's checkpoint is on disk; the bound only keeps a hung
        # run from hanging the suite.
        give_up = time.monotonic() + 900
        while process.poll() is None and not any(checkpoints.glob("*.safetensors")):
            assert time.monotonic() < give_up, "no checkpoint written"
            time.sleep(0.2)
        assert process.poll() is None, process.communicate()
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=300)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130
    assert stderr.strip().splitlines()[-1] == (
        f"error: interrupted; run the same command again to resume from {checkpoints}"
    )
    assert "Traceback" not in stderr
    assert any(checkpoints.glob("*.safetensors")) and not out.exists()
