"""Helpers the routers share: filter validation and turning top-k tensors into responses."""

from __future__ import annotations

import torch

from api.service.errors import invalid, not_found
from api.service.schemas import ScoredItem
from api.service.state import Catalogue, ServingState


def candidate_mask(
    state: ServingState, entity_id: str | None, entity_type: str | None, where: str
) -> torch.Tensor | None:
    """The filter's item mask; 404 for an unknown entity, 422 for an unknown type."""
    if entity_id is not None and entity_id not in state.kg.entity_index:
        raise not_found([where, "entity_id"], f"no entity {entity_id!r} in the served run's KG")
    if entity_type is not None and entity_type not in state.catalogue.type_mask:
        known = sorted(t for t in state.catalogue.type_mask if t)
        raise invalid(
            [
                (
                    [where, "entity_type"],
                    f"unknown entity type {entity_type!r}; expected one of {known}",
                )
            ]
        )
    return state.candidates(entity_id, entity_type)


def scored(catalogue: Catalogue, values: torch.Tensor, indices: torch.Tensor) -> list[ScoredItem]:
    ids, titles, buckets, counts = (
        catalogue.ids,
        catalogue.titles,
        catalogue.bucket,
        catalogue.count,
    )
    return [
        ScoredItem(
            item_id=ids[i],
            title=titles[i],
            score=round(s, 6),
            popularity=buckets[i],  # type: ignore[arg-type]
            interactions=counts[i],
        )
        for s, i in zip(values.tolist(), indices.tolist(), strict=True)
    ]
