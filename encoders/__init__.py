"""Text encoders: language-model embeddings for items, entities and queries.

Offline, batched by token length, cached on disk, on the GPU when there is one. Imports
nothing else of Tailgraph's.

Typical use::

    from tailgraph.encoders import TextEncoder, encode_with_cache, item_text, TEMPLATE_VERSION

    texts = [item_text(title, description, attributes, related) for ... in items]
    embeddings, stats = encode_with_cache(item_ids, texts, TextEncoder(), ".tailgraph/cache")

Modules: :mod:`encoders.templates` (text assembly), :mod:`encoders.text_encoder`
(transformer + pooling + normalisation), :mod:`encoders.pooling`, :mod:`encoders.device`,
:mod:`encoders.model_files` (model resolution and fingerprint), :mod:`encoders.cache`
(safetensors shards), :mod:`encoders.cached_encoding` (the entry point),
:mod:`encoders.settings`. Other languages: see :mod:`encoders.text_encoder` and
``docs/encoders.md``.
"""

from tailgraph.encoders.cache import EmbeddingCache, text_sha256
from tailgraph.encoders.cached_encoding import (
    CachedEncoder,
    EncodeResult,
    EncodeStats,
    encode_with_cache,
)
from tailgraph.encoders.device import resolve_device, resolve_dtype
from tailgraph.encoders.model_files import (
    ModelSpec,
    UnsupportedModelError,
    bundled_model_dir,
    model_fingerprint,
    read_model_spec,
    resolve_model_dir,
)
from tailgraph.encoders.pooling import POOLING_MODES, pool
from tailgraph.encoders.settings import DEFAULT_MODEL, EncoderSettings
from tailgraph.encoders.templates import (
    ITEM_TEXT_VARIANTS,
    TEMPLATE_VERSION,
    EmptyTextError,
    ItemTextVariant,
    build_item_text,
    clean_text,
    entity_text,
    humanize_name,
    is_empty_text,
    item_properties_text,
    item_text,
    item_title_text,
    query_text,
)
from tailgraph.encoders.text_encoder import EncoderIdentity, TextEncoder

__all__ = [
    "DEFAULT_MODEL",
    "ITEM_TEXT_VARIANTS",
    "POOLING_MODES",
    "TEMPLATE_VERSION",
    "CachedEncoder",
    "EmbeddingCache",
    "EmptyTextError",
    "EncodeResult",
    "EncodeStats",
    "EncoderIdentity",
    "EncoderSettings",
    "ItemTextVariant",
    "ModelSpec",
    "TextEncoder",
    "UnsupportedModelError",
    "build_item_text",
    "bundled_model_dir",
    "clean_text",
    "encode_with_cache",
    "entity_text",
    "humanize_name",
    "is_empty_text",
    "item_properties_text",
    "item_text",
    "item_title_text",
    "model_fingerprint",
    "pool",
    "query_text",
    "read_model_spec",
    "resolve_device",
    "resolve_dtype",
    "resolve_model_dir",
    "text_sha256",
]
