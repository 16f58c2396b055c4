"""The library entry point: embeddings for keyed texts, through the on-disk cache.

``tailgraph encode`` (in ``api``) calls :func:`encode_with_cache` once, or — to stream a big
catalogue — builds one :class:`CachedEncoder` and calls :meth:`CachedEncoder.encode` per
chunk (one model load, one cache index for the whole run)::

    encoder = TextEncoder(EncoderSettings())
    cached = CachedEncoder(encoder, cache_dir)
    for keys, texts in chunks:
        embeddings, stats = cached.encode(keys, texts)

Only texts missing from the cache reach the model; each distinct text is encoded once per
call even if several keys share it. New embeddings are written every ``write_every`` texts,
so an interrupted run keeps what it finished. The model is loaded only if something is
missing: a fully cached call returns the stored tensors bit for bit without loading it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import NamedTuple

import torch
from tailgraph.encoders.cache import EmbeddingCache, text_sha256
from tailgraph.encoders.settings import EncoderSettings
from tailgraph.encoders.templates import TEMPLATE_VERSION, is_empty_text
from tailgraph.encoders.text_encoder import PROGRESS_MIN_TEXTS, TextEncoder
from tqdm.auto import tqdm

HASH_MEMO_NAME = "file-sha256.json"
MAX_SHARDS = 64  # beyond this many shards per namespace, merge them (index reads stay cheap)


@dataclass(frozen=True)
class EncodeStats:
    """What one call did. ``total = encoded + from_cache + reused + empty``.

    - ``encoded``: distinct texts run through the model (adding 10 new items → 10);
    - ``from_cache``: rows whose text was already in the cache;
    - ``reused``: rows repeating a text encoded earlier in the same call;
    - ``empty``: rows with empty text, returned as zero vectors;
    - ``texts_per_s``: ``total / seconds``, rows delivered per second of wall time.
    """

    total: int
    encoded: int
    from_cache: int
    reused: int
    empty: int
    seconds: float
    texts_per_s: float

    def as_dict(self) -> dict[str, int | float]:
        return asdict(self)


class EncodeResult(NamedTuple):
    """``embeddings`` float32 ``[n, d]`` in input order (unit rows; zero rows for empty text)."""

    embeddings: torch.Tensor
    stats: EncodeStats


class CachedEncoder:
    """A :class:`TextEncoder` in front of an :class:`EmbeddingCache` namespace.

    Creating one reads only small files (and hashes the model files once per cache
    directory, memoised in ``cache_dir/file-sha256.json``); it never loads the model.
    """

    def __init__(
        self,
        encoder: TextEncoder,
        cache_dir: Path | str | None = None,
        *,
        template_version: str = TEMPLATE_VERSION,
        write_every: int = 4096,
    ) -> None:
        if write_every < 1:
            raise ValueError(f"write_every must be ≥ 1, got {write_every}")
        self.encoder = encoder
        self.cache_dir = Path(cache_dir if cache_dir is not None else encoder.settings.cache_dir)
        self.template_version = template_version
        self.write_every = write_every
        self.identity = encoder.identity(hash_memo=self.cache_dir / HASH_MEMO_NAME)
        self.cache = EmbeddingCache(
            self.cache_dir,
            self.identity.key(),
            template_version,
            description={"encoder": asdict(self.identity)},
        )

    def encode(
        self, keys: Sequence[str], texts: Sequence[str], *, show_progress: bool | None = None
    ) -> EncodeResult:
        """Embeddings for ``texts`` (``keys[i]`` names ``texts[i]`` in errors)."""
        started = time.perf_counter()
        _check_inputs(keys, texts)
        digests = [None if is_empty_text(text) else text_sha256(text) for text in texts]
        text_by_digest: dict[bytes, str] = {}
        for digest, text in zip(digests, texts, strict=True):
            if digest is not None:
                text_by_digest.setdefault(digest, text)

        vectors = self.cache.lookup(list(text_by_digest))
        from_cache = sum(1 for digest in digests if digest in vectors)
        missing = [digest for digest in text_by_digest if digest not in vectors]
        self._encode_missing(missing, text_by_digest, vectors, show_progress)

        embeddings = torch.zeros(len(texts), self.encoder.dim, dtype=torch.float32)
        filled = [i for i, digest in enumerate(digests) if digest is not None]
        if filled:
            embeddings[filled] = torch.stack([vectors[d] for d in digests if d is not None])

        seconds = time.perf_counter() - started
        empty = len(texts) - len(filled)
        stats = EncodeStats(
            total=len(texts),
            encoded=len(missing),
            from_cache=from_cache,
            reused=len(filled) - from_cache - len(missing),
            empty=empty,
            seconds=seconds,
            texts_per_s=len(texts) / seconds if seconds > 0 else float("inf"),
        )
        return EncodeResult(embeddings, stats)

    def _encode_missing(
        self,
        missing: list[bytes],
        text_by_digest: dict[bytes, str],
        vectors: dict[bytes, torch.Tensor],
        show_progress: bool | None,
    ) -> None:
        if not missing:
            return
        progress = self.encoder.settings.progress if show_progress is None else show_progress
        with tqdm(
            total=len(missing),
            unit="text",
            desc="encoding",
            disable=not progress or len(missing) < PROGRESS_MIN_TEXTS,
        ) as bar:
            for start in range(0, len(missing), self.write_every):
                chunk = missing[start : start + self.write_every]
                encoded = self.encoder.encode(
                    [text_by_digest[digest] for digest in chunk], show_progress=False
                )
                self.cache.add(chunk, encoded)  # written now: an interrupted run keeps it
                vectors.update(zip(chunk, encoded, strict=True))
                bar.update(len(chunk))
        if len(self.cache.shard_paths()) > MAX_SHARDS:
            self.cache.compact()


def encode_with_cache(
    keys: Sequence[str],
    texts: Sequence[str],
    encoder: TextEncoder | EncoderSettings | None = None,
    cache_dir: Path | str | None = None,
    *,
    template_version: str = TEMPLATE_VERSION,
    show_progress: bool | None = None,
) -> EncodeResult:
    """One-shot :meth:`CachedEncoder.encode`: ``(embeddings [n, d], stats)``.

    ``encoder`` may be a :class:`TextEncoder` (reuse it across calls: it holds the loaded
    model) or :class:`EncoderSettings` (a new encoder is built; fine for a single call).
    ``cache_dir`` defaults to ``settings.cache_dir``. ``template_version`` is the version of
    the templates that built ``texts`` (:data:`encoders.templates.TEMPLATE_VERSION`).
    """
    started = time.perf_counter()
    text_encoder = encoder if isinstance(encoder, TextEncoder) else TextEncoder(encoder)
    cached = CachedEncoder(text_encoder, cache_dir, template_version=template_version)
    embeddings, stats = cached.encode(keys, texts, show_progress=show_progress)
    # Report the whole call, including the model fingerprint check done by CachedEncoder().
    seconds = time.perf_counter() - started
    texts_per_s = stats.total / seconds if seconds > 0 else float("inf")
    return EncodeResult(embeddings, replace(stats, seconds=seconds, texts_per_s=texts_per_s))


def _check_inputs(keys: Sequence[str], texts: Sequence[str]) -> None:
    if len(keys) != len(texts):
        raise ValueError(f"got {len(keys)} keys but {len(texts)} texts; expected one text per key")
    seen: set[str] = set()
    for key, text in zip(keys, texts, strict=True):
        if key in seen:
            raise ValueError(f"duplicate key {key!r}; expected each key once per call")
        seen.add(key)
        if not isinstance(text, str):
            raise TypeError(
                f"text for key {key!r} is {type(text).__name__}, expected str "
                "(encoders.templates turns missing text into '')"
            )
