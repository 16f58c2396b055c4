"""Helpers the routers share: filter validation and turning top-k tensors into responses."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from fastapi import Response

from api.service.errors import invalid, not_found
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


def json_items(catalogue: Catalogue, values: torch.Tensor, indices: torch.Tensor) -> str:
    """A JSON array of `ScoredItem`s from the catalogue's pre-encoded item fragments."""
    fragments = catalogue.fragments
    return "[" + ", ".join(
        f"{fragments[i]}{round(s, 6)!r}}}" for s, i in zip(values.tolist(), indices.tolist(),
                                                              strict=True)
    ) + "]"  # fmt: skip


def recommendations_response(
    user_id: str | None,
    catalogue: Catalogue,
    values: torch.Tensor,
    indices: torch.Tensor,
    run_dir: Path,
) -> Response:
    """A `Recommendations` body, serialised directly (see the recommend endpoint)."""
    body = (
        f'{{"user_id": {json.dumps(user_id)}, "items": {json_items(catalogue, values, indices)}, '
        f'"run": {json.dumps(str(run_dir))}}}'
    )
    return Response(body.encode(), media_type="application/json")
