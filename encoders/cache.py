"""On-disk embedding cache: text hash → embedding, one namespace per encoder and template.

Layout::

    cache_dir/
      file-sha256.json                 memoised hashes of large model files (see model_files)
      <namespace>/                     one per (encoder identity key, template version)
        namespace.json                 what the namespace is, for people reading the folder
        shard-<time>-<pid>-<rand>.safetensors
          text_sha256  uint8   [n, 32]   sha256 of the exact UTF-8 text encoded
          embeddings   float32 [n, d]

Keys: a namespace is ``sha256(encoder identity key, template version)``, where the identity
covers the model files' content hash, pooling, max_length, dtype and the encoding version
(see :class:`encoders.text_encoder.EncoderIdentity`). Change any of them and lookups land
in a fresh, empty namespace: the cache is invalidated without deleting anything. Inside a
namespace a row is found by the sha256 of its text, so unchanged texts are never re-encoded
and identical texts of different items share one row.

Concurrency: shards are immutable and appear atomically (temp file, fsync, ``os.replace``),
so a reader sees whole shards only. Writers never touch each other's files: each adds new
shards under unique names; a text encoded by two writers at once is stored twice, which is
harmless (same text, same vector). :meth:`EmbeddingCache.compact` merges shards into one
and then deletes the old ones; a reader that listed a shard which compaction removed before
the reader opened it rebuilds its index from the directory and finds the rows in the merged
shard.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save as safetensors_bytes

from tailgraph.atomic import TEMP_PREFIX, atomic_write_bytes

CACHE_FORMAT = "tailgraph-embedding-cache/1"
HASH_BYTES = 32
STALE_TEMP_SECONDS = 3600.0  # a temp file this old belongs to a writer that died
MAX_INDEX_REBUILDS = 20  # each needs another compaction to land between listing and reading


def text_sha256(text: str) -> bytes:
    """The cache key of a text: sha256 of its exact UTF-8 bytes."""
    return hashlib.sha256(text.encode("utf-8")).digest()


def namespace_key(encoder_key: str, template_version: str) -> str:
    """Folder name for an (encoder identity, template version) pair."""
    payload = json.dumps({"encoder": encoder_key, "template": template_version}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


class EmbeddingCache:
    """One namespace of the cache. Cheap to create; reads shards lazily and remembers them.

    Shards never change once written, so the in-memory index of which text lives in which
    shard row only ever grows; each lookup just adds shards that appeared since.
    """

    def __init__(
        self,
        cache_dir: Path,
        encoder_key: str,
        template_version: str,
        description: dict[str, object] | None = None,
    ) -> None:
        self.directory = Path(cache_dir) / namespace_key(encoder_key, template_version)
        self._description = {
            "format": CACHE_FORMAT,
            "encoder_key": encoder_key,
            "template_version": template_version,
            **(description or {}),
        }
        self._rows: dict[bytes, tuple[str, int]] = {}  # text hash → (shard name, row)
        self._indexed: set[str] = set()

    # ---- reading ---------------------------------------------------------------------------

    def shard_paths(self) -> list[Path]:
        """Complete shards currently on disk (temp files excluded), oldest first."""
        if not self.directory.is_dir():
            return []
        return sorted(
            path
            for path in self.directory.glob("shard-*.safetensors")
            if not path.name.startswith(TEMP_PREFIX)
        )

    def __len__(self) -> int:
        self._refresh_index()
        return len(self._rows)

    def __contains__(self, digest: bytes) -> bool:
        self._refresh_index()
        return digest in self._rows

    def lookup(self, digests: Sequence[bytes]) -> dict[bytes, torch.Tensor]:
        """Embeddings for the hashes present in the cache (absent hashes are left out)."""
        found: dict[bytes, torch.Tensor] = {}
        pending = list(dict.fromkeys(digests))
        for _ in range(MAX_INDEX_REBUILDS):
            self._refresh_index()
            wanted: dict[str, list[tuple[bytes, int]]] = {}
            for digest in pending:
                if digest in self._rows:
                    shard, row = self._rows[digest]
                    wanted.setdefault(shard, []).append((digest, row))
            if not self._read_rows(wanted, found):
                return found
            # A compaction merged shards we had indexed into a new one and deleted them, maybe
            # one by one while we read. Their rows live in the merged shard, which the index
            # may already list without them (first shard wins): rebuild it from the disk.
            self._rows.clear()
            self._indexed.clear()
            pending = [digest for digest in pending if digest not in found]
        raise RuntimeError(
            f"{self.directory}: shards kept vanishing while reading "
            f"({MAX_INDEX_REBUILDS} index rebuilds); is something deleting them in a loop?"
        )

    def _read_rows(
        self, wanted: dict[str, list[tuple[bytes, int]]], found: dict[bytes, torch.Tensor]
    ) -> bool:
        """Read `wanted` rows into `found`; True when a shard had vanished (rows not read)."""
        vanished = False
        for shard, entries in wanted.items():
            try:
                with safe_open(self.directory / shard, framework="pt") as handle:
                    embeddings = handle.get_tensor("embeddings")
            except FileNotFoundError:
                vanished = True
                continue
            rows = embeddings[[row for _, row in entries]]
            for (digest, _), vector in zip(entries, rows, strict=True):
                found[digest] = vector
        return vanished

    def _refresh_index(self) -> None:
        for path in self.shard_paths():
            if path.name in self._indexed:
                continue
            try:
                with safe_open(path, framework="pt") as handle:
                    hashes = handle.get_tensor("text_sha256")
            except FileNotFoundError:
                continue  # compacted away between listing and opening
            raw = hashes.numpy().tobytes()
            for row in range(hashes.shape[0]):
                digest = raw[row * HASH_BYTES : (row + 1) * HASH_BYTES]
                # first shard wins: any copy holds the same vector, keep lookups stable
                self._rows.setdefault(digest, (path.name, row))
            self._indexed.add(path.name)

    def _forget_missing_shards(self) -> None:
        present = {path.name for path in self.shard_paths()}
        gone = self._indexed - present
        self._rows = {d: loc for d, loc in self._rows.items() if loc[0] not in gone}
        self._indexed -= gone

    # ---- writing ---------------------------------------------------------------------------

    def add(self, digests: Sequence[bytes], embeddings: torch.Tensor) -> Path | None:
        """Store ``embeddings[i]`` under ``digests[i]`` as one new shard; returns its path."""
        if len(digests) != embeddings.shape[0]:
            raise ValueError(f"{len(digests)} text hashes but {embeddings.shape[0]} embedding rows")
        if not digests:
            return None
        self._write_description()
        hashes = torch.frombuffer(bytearray(b"".join(digests)), dtype=torch.uint8)
        tensors = {
            "text_sha256": hashes.reshape(len(digests), HASH_BYTES),
            "embeddings": embeddings.detach().to("cpu", torch.float32).contiguous(),
        }
        name = f"shard-{time.time_ns():020d}-{os.getpid()}-{uuid.uuid4().hex[:8]}.safetensors"
        path = self.directory / name
        atomic_write_bytes(path, safetensors_bytes(tensors, metadata={"format": CACHE_FORMAT}))
        return path

    def compact(self) -> Path | None:
        """Merge all shards into one (rows deduplicated), then delete the merged shards.

        Safe beside readers (see module docstring). Also removes temp files left by
        writers that died more than an hour ago.
        """
        self._remove_stale_temp_files()
        shards = self.shard_paths()
        if len(shards) <= 1:
            return shards[0] if shards else None
        digests: list[bytes] = []
        parts: list[torch.Tensor] = []
        seen: set[bytes] = set()
        for path in shards:
            with safe_open(path, framework="pt") as handle:
                hashes = handle.get_tensor("text_sha256")
                embeddings = handle.get_tensor("embeddings")
            raw = hashes.numpy().tobytes()
            keep = []
            for row in range(hashes.shape[0]):
                digest = raw[row * HASH_BYTES : (row + 1) * HASH_BYTES]
                if digest not in seen:
                    seen.add(digest)
                    digests.append(digest)
                    keep.append(row)
            parts.append(embeddings[keep])
        merged = self.add(digests, torch.cat(parts))
        for path in shards:
            path.unlink(missing_ok=True)
        self._forget_missing_shards()
        return merged

    def _write_description(self) -> None:
        target = self.directory / "namespace.json"
        if not target.is_file():
            text = json.dumps(self._description, indent=2, sort_keys=True, default=str)
            atomic_write_bytes(target, text.encode())

    def _remove_stale_temp_files(self) -> None:
        if not self.directory.is_dir():
            return
        cutoff = time.time() - STALE_TEMP_SECONDS
        for path in self.directory.glob(f"{TEMP_PREFIX}*"):
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
            except FileNotFoundError:
                pass
