"""Text embeddings for a snapshot's items and entities, through the encoder cache.

`tailgraph encode` fills the same cache from the graph with the same templates,
so training after it encodes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from tailgraph.encoders import CachedEncoder, EncoderSettings, TextEncoder
from tailgraph.gnn.data import entity_texts, item_texts
from tailgraph.kg.snapshot import GraphSnapshot


@dataclass
class TextFeatures:
    items: torch.Tensor  # [I, d]
    entities: torch.Tensor  # [E, d]
    variant: str
    stats: dict[str, dict[str, float | int]]
    model: str  # the text encoder's model name or path


def text_features(
    snapshot: GraphSnapshot,
    variant: str = "full",
    encoder: TextEncoder | None = None,
    cache_dir: Path | None = None,
    progress: bool = False,
) -> TextFeatures:
    encoder = encoder or TextEncoder(EncoderSettings())
    cached = CachedEncoder(encoder, cache_dir)
    item_keys = [f"item:{i}" for i in snapshot.items["id"]]
    items = cached.encode(item_keys, item_texts(snapshot, variant), show_progress=progress)
    entity_keys = [f"entity:{e}" for e in snapshot.entities["id"]]
    if entity_keys:
        entities = cached.encode(entity_keys, entity_texts(snapshot), show_progress=progress)
        entity_emb, entity_stats = entities.embeddings, entities.stats.as_dict()
    else:
        entity_emb, entity_stats = torch.zeros(0, encoder.dim), {}
    return TextFeatures(
        items.embeddings,
        entity_emb,
        variant,
        {"items": items.stats.as_dict(), "entities": entity_stats},
        encoder.settings.model,
    )
