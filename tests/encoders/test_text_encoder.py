"""TextEncoder with the real all-MiniLM-L6-v2 (installed package, CPU, no mocks)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from tailgraph.encoders.model_files import read_model_spec, resolve_model_dir
from tailgraph.encoders.settings import EncoderSettings
from tailgraph.encoders.text_encoder import TextEncoder

TEXTS = [
    "Toy Story (1995)\nAn animated film about toys that come to life.",
    "A thriller.",
    "GoldenEye (1995) is a spy film in which James Bond must stop a rogue agent from using a "
    "satellite weapon against London; directed by Martin Campbell, starring Pierce Brosnan.",
    "Heat",
    "Jazz musician from New Orleans, known for the trumpet and a gravelly voice.",
    "Diary of Dreams is a German darkwave band.",
    "x",
]

SettingsFor = Callable[..., EncoderSettings]


def test_paraphrases_are_closer_than_unrelated_texts(encoder: TextEncoder) -> None:
    pairs = [
        ("A man is eating food.", "A man is eating a piece of bread.", "A girl plays the violin."),
        (
            "A funny animated movie about toys.",
            "A comedy cartoon film in which toys come alive.",
            "A documentary about the stock market crash.",
        ),
        ("Heavy metal band from Norway", "Norwegian metal group", "French pastry recipes"),
    ]
    for anchor, paraphrase, unrelated in pairs:
        vectors = encoder.encode([anchor, paraphrase, unrelated])
        close, far = float(vectors[0] @ vectors[1]), float(vectors[0] @ vectors[2])
        assert close > far + 0.2, (anchor, close, far)


def test_outputs_are_normalised_deterministic_float32(encoder: TextEncoder) -> None:
    first = encoder.encode(TEXTS)
    second = encoder.encode(TEXTS)
    assert first.dtype == torch.float32
    assert first.shape == (len(TEXTS), encoder.dim) == (len(TEXTS), 384)
    assert torch.equal(first, second)
    assert torch.allclose(first.norm(dim=1), torch.ones(len(TEXTS)), atol=1e-5)


def test_batching_and_length_sorting_do_not_change_results(encoder: TextEncoder) -> None:
    batched = encoder.encode(TEXTS, batch_size=3)
    alone = torch.cat([encoder.encode([text]) for text in TEXTS])
    reversed_order = encoder.encode(TEXTS[::-1], batch_size=2).flip(0)
    one_batch = encoder.encode(TEXTS, batch_size=len(TEXTS))
    for other in (alone, reversed_order, one_batch):
        assert (batched - other).abs().max().item() < 1e-5


def test_empty_text_is_the_zero_vector(encoder: TextEncoder) -> None:
    vectors = encoder.encode(["", "Heat", "   \n"])
    assert torch.equal(vectors[0], torch.zeros(encoder.dim))
    assert torch.equal(vectors[2], torch.zeros(encoder.dim))
    assert vectors[1].norm().item() == pytest.approx(1.0, abs=1e-5)
    assert encoder.encode([]).shape == (0, encoder.dim)


def test_only_empty_texts_never_load_the_model(settings_for: SettingsFor) -> None:
    fresh = TextEncoder(settings_for())
    assert torch.equal(fresh.encode(["", " "]), torch.zeros(2, 384))
    assert not fresh.is_loaded
    assert fresh.load_count == 0


def test_non_string_text_is_rejected(encoder: TextEncoder) -> None:
    with pytest.raises(TypeError, match="expected str"):
        encoder.encode(["ok", None])  # type: ignore[list-item]


def test_truncation_is_explicit(encoder: TextEncoder, settings_for: SettingsFor) -> None:
    short = TextEncoder(settings_for(max_length=8))
    short._tokenizer, short._model = encoder._tokenizer, encoder._model  # share loaded weights
    long_text = "word " * 400
    assert short.max_length == 8
    assert encoder.max_length == 256  # the model's own max_seq_length
    prefix = "word " * 6  # 6 tokens + [CLS] + [SEP] = 8
    assert torch.allclose(short.encode([long_text]), short.encode([prefix]), atol=1e-6)


def test_a_local_directory_works_as_model_id(
    encoder: TextEncoder, copied_model_dir: Path, settings_for: SettingsFor
) -> None:
    local = TextEncoder(settings_for(model=str(copied_model_dir)))
    assert local.spec.root == copied_model_dir.resolve()
    assert (local.encode(TEXTS) - encoder.encode(TEXTS)).abs().max().item() < 1e-6
    # Same bytes, same identity: a copy of a model shares the cache with the original.
    assert local.identity().key() == encoder.identity().key()


def test_model_pooling_config_is_respected(
    encoder: TextEncoder, cls_model_dir: Path, settings_for: SettingsFor
) -> None:
    cls_encoder = TextEncoder(settings_for(model=str(cls_model_dir)))
    assert cls_encoder.spec.pooling_modes == ("cls",)
    assert encoder.spec.pooling_modes == ("mean",)
    assert encoder.spec.has_normalize_module
    cls_vectors = cls_encoder.encode(TEXTS[:3])
    assert torch.allclose(cls_vectors.norm(dim=1), torch.ones(3), atol=1e-5)
    assert (cls_vectors - encoder.encode(TEXTS[:3])).abs().max().item() > 1e-2


def test_missing_local_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        resolve_model_dir(str(tmp_path / "no-such-model"))


def test_hub_id_missing_from_local_cache_is_never_downloaded() -> None:
    with pytest.raises(FileNotFoundError, match="nothing is downloaded"):
        resolve_model_dir("tailgraph-tests/no-such-model")


def test_default_model_resolves_offline(model_dir: Path) -> None:
    for alias in ("sentence-transformers/all-MiniLM-L6-v2", "all-MiniLM-L6-v2"):
        assert resolve_model_dir(alias) == model_dir
    spec = read_model_spec(model_dir)
    assert (spec.max_seq_length, spec.dim, spec.lowercase) == (256, 384, False)
