"""`tailgraph train` trains the product model by default; `--compare` adds the rest."""

from __future__ import annotations

from pathlib import Path

from tailgraph.api.cli import _harness_config, app
from tailgraph.gnn.harness import ABLATIONS, ALL_MODELS, BASELINES
from typer.testing import CliRunner


def test_train_defaults_to_the_product_model(tmp_path: Path) -> None:
    assert _harness_config(None, []).models == ("tailgraph",)
    compared = _harness_config(None, [], compare=True).models
    assert compared == ALL_MODELS and set(BASELINES) | set(ABLATIONS) <= set(compared)
    picked = _harness_config(None, ["models=tailgraph,lightgcn"]).models
    assert picked == ("tailgraph", "lightgcn")
    config = tmp_path / "settings.json"
    config.write_text('{"models": ["tailgraph", "mostpop"], "seed": 3}')
    assert _harness_config(config, []).models == ("tailgraph", "mostpop")


def test_compare_and_an_explicit_model_list_are_refused_before_any_work(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["train", "--out", str(tmp_path / "run"), "--compare", "--set", "models=tailgraph"]
    )
    assert result.exit_code == 1
    assert "--compare trains every model" in result.output
    assert not (tmp_path / "run").exists()
