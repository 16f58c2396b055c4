"""Anonymous visitors: recommendations from session items, a free-text query, attributes."""

from __future__ import annotations

import torch
from fastapi import APIRouter, Response
from tailgraph.api.service.dependencies import RuntimeDep, StateDep
from tailgraph.api.service.errors import ApiError, invalid, responses
from tailgraph.api.service.routers.common import candidate_mask, recommendations_response
from tailgraph.api.service.schemas import AnonymousRequest, Recommendations
from tailgraph.encoders import EmptyTextError

router = APIRouter(tags=["recommendations"])


@router.post(
    "/recommendations",
    response_model=Recommendations,
    responses=responses(401, 404, 413, 422),
    summary="Recommend items for an anonymous visitor",
)
def recommend_anonymous(body: AnonymousRequest, runtime: RuntimeDep, state: StateDep) -> Response:
    """From any mix of: the session's items (most recent first), a free-text query (encoded
    now with the run's text model: its closest items by text steer the user vector, and
    text relevance is blended into the scores), user attributes. At least one is needed.
    With `exclude_seen`, the session items are left out."""
    # A thread-pool endpoint: encoding a query runs the transformer (milliseconds).
    if not body.item_ids and body.query is None and not body.attributes:
        raise invalid([(["body"], "expected at least one of item_ids, query, attributes")])
    catalogue = state.catalogue
    unknown = [
        (["body", "item_ids", k], f"no item {item!r} in the served run")
        for k, item in enumerate(body.item_ids)
        if item not in catalogue.index
    ]
    if unknown:
        raise ApiError(404, unknown, "not_found")
    session = torch.tensor([catalogue.index[i] for i in body.item_ids], dtype=torch.long)
    codes = None
    if body.attributes:
        if state.attributes is None:
            raise invalid([(["body", "attributes"], "the served model uses no user attributes")])
        codes, problems = state.attributes.encode(body.attributes)
        if problems:
            raise invalid([(["body", "attributes", name], msg) for name, msg in problems])
    mask = candidate_mask(state, body.entity_id, body.entity_type, "body")
    query = None
    if body.query is not None:
        try:
            query = runtime.query_vector(state, body.query)
        except EmptyTextError as exc:
            raise invalid([(["body", "query"], str(exc))]) from exc
    vector, relevance = state.visitor_vector(session, query, codes)
    excluded = [session] if body.exclude_seen and len(session) else None
    [(values, indices)] = catalogue.recommend(
        vector, body.k, excluded, mask, body.tail_boost, relevance=relevance
    )
    return recommendations_response(None, catalogue, values, indices, state.run_dir)
