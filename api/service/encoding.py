"""Text encoders for requests: free-text queries and the text of items added live.

One `TextEncoder` per text model, loaded once and shared by every request (and kept
across reloads while the run's text model stays the same). Calls are serialised: a
Hugging Face fast tokenizer is not safe to call from several threads at once, and on
a CPU one encode already uses the cores. Query embeddings are memoised (LRU), since
the same searches repeat.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import torch
from tailgraph.encoders import DEFAULT_MODEL, TextEncoder, query_text


class EncoderBox:
    def __init__(self, encoder: TextEncoder | None = None, cache_size: int = 2048) -> None:
        self._encoders: dict[str, TextEncoder] = {}
        if encoder is not None:
            self._encoders[encoder.settings.model] = encoder
        self._lock = threading.Lock()
        self._queries: OrderedDict[tuple[str, str], torch.Tensor] = OrderedDict()
        self._cache_size = cache_size

    def get(self, model: str | None) -> TextEncoder:
        name = model or DEFAULT_MODEL
        with self._lock:
            encoder = self._encoders.get(name)
            if encoder is None:
                encoder = self._encoders[name] = TextEncoder(model=name)
            return encoder

    def is_loaded(self, model: str | None) -> bool:
        encoder = self._encoders.get(model or DEFAULT_MODEL)
        return encoder is not None and encoder.is_loaded

    def load(self, model: str | None) -> TextEncoder:
        encoder = self.get(model)
        with self._lock:
            encoder.load()
        return encoder

    def encode(self, model: str | None, texts: list[str]) -> torch.Tensor:
        encoder = self.get(model)
        with self._lock:
            return encoder.encode(texts, show_progress=False)

    def query(self, model: str | None, text: str) -> torch.Tensor:
        """Embedding [dim] of a free-text query; raises `EmptyTextError` for a blank one."""
        cleaned = query_text(text)
        key = (model or DEFAULT_MODEL, cleaned)
        cached = self._queries.get(key)
        if cached is not None:
            return cached
        vector = self.encode(model, [cleaned])[0]
        with self._lock:
            self._queries[key] = vector
            while len(self._queries) > self._cache_size:
                self._queries.popitem(last=False)
        return vector
