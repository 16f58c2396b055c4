"""Transformer text encoder: texts → L2-normalised float32 embeddings.

For a text tokenised to ``x_1 … x_T`` (truncated to ``max_length`` tokens, special tokens
included) the model gives token states ``H ∈ R^{T×d}``; the pooling named by the model's own
sentence-transformers config reduces them to ``v ∈ R^{d'}`` (mean over real tokens for
all-MiniLM-L6-v2; CLS, max, last-token … see :mod:`encoders.pooling`); the embedding is

    e = v / ‖v‖₂

so cosine similarity is a dot product. Every output is normalised — with or without a
``Normalize`` module in the model, which changes nothing under cosine anyway — except the
empty text: a text that is empty or only whitespace maps to the zero vector and never
reaches the model (see :mod:`encoders.templates` for why).

Batching: all texts are tokenised once, sorted by token count (longest first, so an
out-of-memory shows up in the first batch, not the last) and cut into ``batch_size``
batches, so each batch pads to nearly its own length. Results are scattered back to input
order; a text gets the same embedding alone or in any batch (within ~1e-6: padded positions
are masked out of attention and pooling).

Device ``auto``: CUDA (float16) → MPS → CPU (float32); see :mod:`encoders.device`.

The model loads lazily on the first :meth:`TextEncoder.encode` that has non-empty text.
Everything the embedding cache needs — :meth:`TextEncoder.identity`, :attr:`TextEncoder.dim`
— reads only small files, so a fully cached run never loads the model
(:attr:`TextEncoder.is_loaded` stays ``False``, :attr:`TextEncoder.load_count` at 0).

Other languages: set the model. For Chinese or multilingual catalogues use
``sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2`` (50+ languages, 384-d,
mean pooling), ``BAAI/bge-m3`` (100+ languages, 1024-d, CLS pooling, up to 8192 tokens) or
``BAAI/bge-small-zh-v1.5`` (Chinese, 512-d, CLS pooling); all are plain
Transformer → Pooling (→ Normalize) models that this encoder reads. They must already be in
the local Hugging Face cache or a local directory: nothing is downloaded. See
``docs/encoders.md``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from tailgraph.encoders.device import dtype_name, resolve_device, resolve_dtype
from tailgraph.encoders.model_files import (
    ModelSpec,
    model_fingerprint,
    read_model_spec,
    resolve_model_dir,
)
from tailgraph.encoders.pooling import pool
from tailgraph.encoders.settings import EncoderSettings
from tailgraph.encoders.templates import is_empty_text
from tqdm.auto import tqdm

ENCODING_VERSION = "1"
"""Version of the encoding math here (pooling, normalisation, empty text); in cache keys."""

PROGRESS_MIN_TEXTS = 2_000
"""Runs shorter than this finish in seconds on a CPU; a progress bar would only flicker."""


@dataclass(frozen=True)
class EncoderIdentity:
    """Everything that decides the numbers an encoder produces, computable without loading it.

    ``model`` is informational (the same files under two names are the same model);
    :meth:`key` hashes the rest.
    """

    model: str
    fingerprint: str
    pooling_modes: tuple[str, ...]
    max_length: int
    lowercase: bool
    dtype: str
    encoding_version: str = ENCODING_VERSION

    def key(self) -> str:
        """Short stable hash of everything except the display name."""
        fields = asdict(self)
        del fields["model"]
        payload = json.dumps(fields, sort_keys=True).encode()
        return hashlib.sha256(payload).hexdigest()[:32]


class TextEncoder:
    """Encodes texts with a Hugging Face transformer and the model's own pooling.

    ``TextEncoder()`` uses :class:`EncoderSettings` from the environment; keyword overrides
    win, e.g. ``TextEncoder(model="/models/bge-small-zh", batch_size=32)``.
    """

    def __init__(self, settings: EncoderSettings | None = None, **overrides: Any) -> None:
        base = settings if settings is not None else EncoderSettings()
        self.settings = EncoderSettings(**{**base.model_dump(), **overrides}) if overrides else base
        self.device = resolve_device(self.settings.device)
        self.dtype = resolve_dtype(self.settings.dtype, self.device)
        self.load_count = 0
        self._tokenizer: Any = None
        self._model: Any = None

    # ---- cheap facts (no weights loaded) -------------------------------------------------

    @cached_property
    def spec(self) -> ModelSpec:
        """The model's directory and configuration, read from small JSON files."""
        model_dir = resolve_model_dir(self.settings.model, self.settings.revision)
        return read_model_spec(model_dir)

    @property
    def max_length(self) -> int:
        """Token limit per text: the setting, else the model's ``max_seq_length``."""
        return self.settings.max_length or self.spec.max_seq_length

    @property
    def dim(self) -> int:
        """Embedding width."""
        return self.spec.dim

    @property
    def is_loaded(self) -> bool:
        """Whether the tokenizer and weights are in memory."""
        return self._model is not None

    def identity(self, hash_memo: Path | None = None) -> EncoderIdentity:
        """The encoder's identity for cache keys; ``hash_memo`` memoises weight-file hashes."""
        return EncoderIdentity(
            model=self.settings.model,
            fingerprint=model_fingerprint(self.spec, hash_memo),
            pooling_modes=self.spec.pooling_modes,
            max_length=self.max_length,
            lowercase=self.spec.lowercase,
            dtype=dtype_name(self.dtype),
        )

    # ---- model -----------------------------------------------------------------------------

    def load(self) -> None:
        """Load tokenizer and weights onto the device (done by :meth:`encode` when needed)."""
        if self.is_loaded:
            return
        from transformers import AutoModel, AutoTokenizer  # heavy import, only when encoding

        directory = self.spec.transformer_dir
        self._tokenizer = AutoTokenizer.from_pretrained(directory)
        model = AutoModel.from_pretrained(directory, dtype=self.dtype)
        self._model = model.to(self.device).eval()
        self.load_count += 1

    def encode(
        self,
        texts: Sequence[str],
        *,
        batch_size: int | None = None,
        show_progress: bool | None = None,
    ) -> torch.Tensor:
        """Embed ``texts`` → float32 CPU tensor ``[len(texts), dim]``, rows in input order.

        Rows are unit vectors; rows of empty/whitespace-only texts are zero.
        """
        texts = list(texts)
        for position, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(
                    f"text #{position} is {type(text).__name__}, expected str "
                    "(build texts with encoders.templates, which turn missing text into '')"
                )
        out = torch.zeros(len(texts), self.dim, dtype=torch.float32)
        positions = [i for i, text in enumerate(texts) if not is_empty_text(text)]
        if not positions:
            return out  # nothing to embed: do not load the model
        self.load()

        prepared = [texts[i].lower() if self.spec.lowercase else texts[i] for i in positions]
        # Truncation is explicit: at most max_length tokens per text, special tokens included.
        encoded = self._tokenizer(prepared, truncation=True, max_length=self.max_length)
        lengths = [len(ids) for ids in encoded["input_ids"]]
        order = sorted(range(len(prepared)), key=lambda k: -lengths[k])

        size = batch_size or self.settings.batch_size
        progress = self.settings.progress if show_progress is None else show_progress
        with tqdm(
            total=len(order),
            unit="text",
            desc="encoding",
            disable=not progress or len(order) < PROGRESS_MIN_TEXTS,
            leave=False,
        ) as bar:
            for start in range(0, len(order), size):
                batch = order[start : start + size]
                features = {name: [values[k] for k in batch] for name, values in encoded.items()}
                vectors = self._embed_batch(features)
                out[[positions[k] for k in batch]] = vectors
                bar.update(len(batch))
        return out

    @torch.inference_mode()
    def _embed_batch(self, features: dict[str, list[list[int]]]) -> torch.Tensor:
        padded = self._tokenizer.pad(features, return_tensors="pt")
        inputs = {name: tensor.to(self.device) for name, tensor in padded.items()}
        states = self._model(**inputs).last_hidden_state
        pooled = pool(states, inputs["attention_mask"], self.spec.pooling_modes)
        return F.normalize(pooled, p=2, dim=-1).cpu()
