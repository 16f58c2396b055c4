"""Embedding cache: hits without loading the model, invalidation, incremental encoding,
atomic shards safe for concurrent readers. Real model, real files."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file
from tailgraph.encoders.cache import EmbeddingCache, text_sha256
from tailgraph.encoders.cached_encoding import CachedEncoder, encode_with_cache
from tailgraph.encoders.model_files import model_fingerprint, read_model_spec
from tailgraph.encoders.settings import EncoderSettings
from tailgraph.encoders.text_encoder import TextEncoder

from tailgraph.atomic import TEMP_PREFIX

ITEMS = {f"item-{i}": f"Item number {i}: a film about topic {i * 7 % 13}." for i in range(30)}

SettingsFor = Callable[..., EncoderSettings]


def test_cache_returns_identical_tensors_without_loading_the_model(
    encoder: TextEncoder, tmp_path: Path, settings_for: SettingsFor
) -> None:
    keys, texts = list(ITEMS), list(ITEMS.values())
    first, first_stats = encode_with_cache(keys, texts, encoder, tmp_path)
    assert (first_stats.encoded, first_stats.from_cache) == (len(texts), 0)

    fresh = TextEncoder(settings_for())  # lazy: nothing loaded yet
    second, second_stats = encode_with_cache(keys, texts, fresh, tmp_path)
    assert torch.equal(first, second)
    assert not fresh.is_loaded
    assert fresh.load_count == 0
    assert (second_stats.encoded, second_stats.from_cache) == (0, len(texts))
    assert torch.allclose(first, encoder.encode(texts), atol=1e-6)


def test_adding_ten_texts_encodes_exactly_ten(encoder: TextEncoder, tmp_path: Path) -> None:
    keys, texts = list(ITEMS), list(ITEMS.values())
    cached = CachedEncoder(encoder, tmp_path)
    cached.encode(keys[:20], texts[:20])
    embeddings, stats = cached.encode(keys, texts)
    assert (stats.encoded, stats.from_cache, stats.total) == (10, 20, 30)
    assert torch.allclose(embeddings, encoder.encode(texts), atol=1e-6)

    # Streaming per chunk: a second CachedEncoder (another process, say) sees it all.
    again = CachedEncoder(encoder, tmp_path)
    for start in range(0, 30, 7):
        _, chunk_stats = again.encode(keys[start : start + 7], texts[start : start + 7])
        assert chunk_stats.encoded == 0


def test_changing_the_model_invalidates_the_cache(
    encoder: TextEncoder, cls_model_dir: Path, tmp_path: Path, settings_for: SettingsFor
) -> None:
    keys, texts = list(ITEMS)[:5], list(ITEMS.values())[:5]
    encode_with_cache(keys, texts, encoder, tmp_path)
    other_model = TextEncoder(settings_for(model=str(cls_model_dir)))
    embeddings, stats = encode_with_cache(keys, texts, other_model, tmp_path)
    assert stats.encoded == 5
    assert torch.allclose(embeddings, other_model.encode(texts), atol=1e-6)

    shorter = TextEncoder(settings_for(max_length=64))
    assert shorter.identity().key() != encoder.identity().key()
    half = TextEncoder(settings_for(dtype="bfloat16"))
    assert half.identity().key() != encoder.identity().key()


def test_changed_weights_change_the_fingerprint(model_dir: Path, tmp_path: Path) -> None:
    changed = tmp_path / "changed"
    for source in model_dir.rglob("*"):
        if source.is_file() and source.name != "model.safetensors":
            target = changed / source.relative_to(model_dir)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(source)
    weights = load_file(model_dir / "model.safetensors")
    name = next(iter(weights))
    weights[name] = weights[name] + 1e-3
    save_file(weights, changed / "model.safetensors", metadata={"format": "pt"})
    memo = tmp_path / "memo.json"
    original = model_fingerprint(read_model_spec(model_dir), memo)
    assert model_fingerprint(read_model_spec(changed), memo) != original
    assert model_fingerprint(read_model_spec(model_dir), memo) == original  # memo hit


def test_changing_the_template_invalidates_the_cache(encoder: TextEncoder, tmp_path: Path) -> None:
    keys, texts = list(ITEMS)[:5], list(ITEMS.values())[:5]
    encode_with_cache(keys, texts, encoder, tmp_path, template_version="1")
    _, same = encode_with_cache(keys, texts, encoder, tmp_path, template_version="1")
    _, bumped = encode_with_cache(keys, texts, encoder, tmp_path, template_version="2")
    assert (same.encoded, bumped.encoded) == (0, 5)


def test_empty_and_duplicate_texts(encoder: TextEncoder, tmp_path: Path) -> None:
    keys = ["a", "b", "c", "d"]
    texts = ["", "Heat (1995)", "Heat (1995)", "  "]
    embeddings, stats = encode_with_cache(keys, texts, encoder, tmp_path)
    assert torch.equal(embeddings[0], torch.zeros(384))
    assert torch.equal(embeddings[3], torch.zeros(384))
    assert torch.equal(embeddings[1], embeddings[2])
    assert stats.as_dict() | {"seconds": 0, "texts_per_s": 0} == {
        "total": 4,
        "encoded": 1,
        "from_cache": 0,
        "reused": 1,
        "empty": 2,
        "seconds": 0,
        "texts_per_s": 0,
    }
    with pytest.raises(ValueError, match="duplicate key"):
        encode_with_cache(["a", "a"], ["x", "y"], encoder, tmp_path)
    with pytest.raises(ValueError, match="2 keys but 1 texts"):
        encode_with_cache(["a", "b"], ["x"], encoder, tmp_path)


def test_shards_are_atomic_and_compaction_is_safe_for_readers(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path, "encoder-key", "1")
    stale = cache.directory / f"{TEMP_PREFIX}half-written.safetensors"
    cache.directory.mkdir(parents=True)
    stale.write_bytes(b"garbage")  # a writer that died: never read as a shard
    digests = [text_sha256(f"text {i}") for i in range(200)]
    vectors = torch.nn.functional.normalize(torch.randn(200, 8), dim=1)
    errors: list[BaseException] = []

    def reader() -> None:
        try:
            own = EmbeddingCache(tmp_path, "encoder-key", "1")
            for _ in range(200):
                for digest, vector in own.lookup(digests).items():
                    assert torch.equal(vector, vectors[digests.index(digest)])
        except BaseException as error:  # surfaced in the main thread
            errors.append(error)

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for thread in threads:
        thread.start()
    for start in range(0, 200, 20):
        cache.add(digests[start : start + 20], vectors[start : start + 20])
        if start % 60 == 0:
            cache.compact()
    for thread in threads:
        thread.join()
    assert not errors, errors

    cache.compact()
    assert len(cache.shard_paths()) == 1
    assert len(cache) == 200
    found = cache.lookup(digests)
    assert all(torch.equal(found[d], vectors[i]) for i, d in enumerate(digests))
    # The dead writer's temp file is too recent to delete, and was never taken for a shard.
    assert stale.exists()
    assert stale not in cache.shard_paths()
