"""Pooling math on hand-made tensors, model-config parsing, settings and device choice."""

from __future__ import annotations

import pytest
import torch
from tailgraph.encoders.device import resolve_device, resolve_dtype
from tailgraph.encoders.pooling import pool, pooling_modes_from_config
from tailgraph.encoders.settings import EncoderSettings

# Two texts, T=3, d=2. Text 0 has 2 real tokens (right padding); text 1 has 2 (left padding).
STATES = torch.tensor(
    [
        [[1.0, 2.0], [3.0, 4.0], [100.0, 100.0]],
        [[100.0, 100.0], [5.0, -1.0], [7.0, 3.0]],
    ]
)
MASK = torch.tensor([[1, 1, 0], [0, 1, 1]])


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("mean", [[2.0, 3.0], [6.0, 1.0]]),
        ("mean_sqrt_len_tokens", [[4 / 2**0.5, 6 / 2**0.5], [12 / 2**0.5, 2 / 2**0.5]]),
        ("max", [[3.0, 4.0], [7.0, 3.0]]),
        ("cls", [[1.0, 2.0], [5.0, -1.0]]),
        ("lasttoken", [[3.0, 4.0], [7.0, 3.0]]),
        ("weightedmean", [[(1 + 6) / 3, (2 + 8) / 3], [(5 + 14) / 3, (-1 + 6) / 3]]),
    ],
)
def test_pooling_modes_ignore_padding(mode: str, expected: list[list[float]]) -> None:
    assert torch.allclose(pool(STATES, MASK, (mode,)), torch.tensor(expected))


def test_several_modes_concatenate() -> None:
    assert pool(STATES, MASK, ("cls", "mean")).shape == (2, 4)


def test_pooling_config_old_and_new_keys() -> None:
    assert pooling_modes_from_config({"pooling_mode_mean_tokens": True}) == ("mean",)
    assert pooling_modes_from_config({"pooling_mode_cls_token": True}) == ("cls",)
    assert pooling_modes_from_config({"pooling_mode": "lasttoken"}) == ("lasttoken",)
    assert pooling_modes_from_config({"word_embedding_dimension": 384}) == ("mean",)
    with pytest.raises(ValueError, match="unknown pooling"):
        pooling_modes_from_config({"pooling_mode": "median"})


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAILGRAPH_ENCODER_MODEL", "/models/bge-small-zh")
    monkeypatch.setenv("TAILGRAPH_ENCODER_BATCH_SIZE", "7")
    monkeypatch.setenv("TAILGRAPH_ENCODER_MAX_LENGTH", "128")
    monkeypatch.setenv("TAILGRAPH_ENCODER_DEVICE", "cpu")
    monkeypatch.setenv("TAILGRAPH_ENCODER_DTYPE", "bfloat16")
    settings = EncoderSettings()
    assert (settings.model, settings.batch_size, settings.max_length) == (
        "/models/bge-small-zh",
        7,
        128,
    )
    assert (settings.device, settings.dtype) == ("cpu", "bfloat16")
    with pytest.raises(ValueError):
        EncoderSettings(batch_size=0)


def test_device_and_dtype_choice() -> None:
    device = resolve_device("auto")
    if torch.cuda.is_available():
        assert device.type == "cuda"
        assert resolve_dtype("auto", device) == torch.float16
    elif not torch.backends.mps.is_available():
        assert device.type == "cpu"
    assert resolve_dtype("auto", torch.device("cpu")) == torch.float32
    assert resolve_dtype("bfloat16", torch.device("cpu")) == torch.bfloat16
    with pytest.raises(ValueError, match="dtype"):
        resolve_dtype("int8", torch.device("cpu"))
