"""Known users: recommendations, recorded interactions, explanations."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response, status
from tailgraph.api.service.batching import ScoringBatcher
from tailgraph.api.service.dependencies import RuntimeDep, StateDep
from tailgraph.api.service.errors import not_found, responses
from tailgraph.api.service.explain import display_name, parse_rows, rank_paths
from tailgraph.api.service.routers.common import (
    candidate_mask,
    parse_query,
    query_parameters,
    recommendations_response,
)
from tailgraph.api.service.schemas import (
    Explanation,
    ExplanationPath,
    Id,
    InteractionRecorded,
    InteractionRequest,
    PathNode,
    PathStep,
    RecommendationFilters,
    Recommendations,
)
from tailgraph.api.service.state import ServingState

router = APIRouter(prefix="/users", tags=["users"])

UserId = Annotated[Id, Path(description="A user id of the served run.")]


@router.get(
    "/{user_id}/recommendations",
    response_model=Recommendations,
    responses=responses(401, 404, 422),
    summary="Recommend items for a known user",
    openapi_extra=query_parameters(RecommendationFilters),
)
async def recommend(user_id: UserId, request: Request) -> Response:
    """Scores every item from in-memory vectors (one matmul + top-k): no graph access, so
    this keeps working while the graph is down. Interactions recorded since the run was
    loaded shift the user vector and are excluded like the run's own."""
    # async and inline on the event loop: the work is a few hundred microseconds of
    # tensor code, cheaper than a hop to the thread pool; concurrent requests share one
    # matmul (`ScoringBatcher`), and the body is assembled from pre-encoded item
    # fragments rather than validated models (`json_items`; the schema still documents
    # it, and the generated-input tests check every answer against it). The options and
    # the state are read here, not through FastAPI's parameters and dependencies: the
    # hottest route, and those cost more than the scoring (docs/decisions.md). Requests
    # that succeed are usually answered by `api.service.fast_path` with the same pieces;
    # this route answers the rest and documents the endpoint.
    options = parse_query(RecommendationFilters, request.query_params)
    return await recommend_response(
        request.app.state.runtime.state, request.app.state.batcher, user_id, options
    )


async def recommend_response(
    state: ServingState,
    batcher: ScoringBatcher | None,
    user_id: str,
    options: RecommendationFilters,
) -> Response:
    """The recommend route's answer (also served by `api.service.fast_path`). Raises
    `ApiError` (404 unknown user or entity, 422 unknown entity type) before any scoring."""
    user = state.users.index.get(user_id)
    if user is None:
        raise not_found(["path", "user_id"], f"no user {user_id!r} in the served run")
    mask = candidate_mask(state, options.entity_id, options.entity_type, "query")
    catalogue = state.catalogue
    excluded = state.seen(user) if options.exclude_seen else None
    vector = state.user_vector(user)
    if batcher is not None:
        values, indices = await batcher.top_k(
            catalogue, vector, options.k, options.tail_boost, excluded, mask
        )
    else:
        [(values, indices)] = catalogue.recommend(
            vector[None], options.k, [excluded], mask, options.tail_boost
        )
    return recommendations_response(user_id, catalogue, values, indices, state.run_dir)


@router.post(
    "/{user_id}/interactions",
    response_model=InteractionRecorded,
    status_code=status.HTTP_201_CREATED,
    responses=responses(401, 404, 409, 413, 422, 503),
    summary="Record an interaction (real-time effect on the next recommendation)",
)
def record_interaction(
    user_id: UserId, body: InteractionRequest, runtime: RuntimeDep
) -> InteractionRecorded:
    """Written to the graph first (MERGE on a key of user, item, time and kind, so a retry
    adds nothing); then the item moves to the front of the user's recent history, which
    re-weights the user vector (attention over recent items) and excludes the item from
    the user's next recommendations. Unknown users get 404: users come from the data,
    and a typo must not create a phantom user (anonymous visitors use POST
    /recommendations with their session items)."""
    key, ts, history = runtime.record_interaction(
        user_id, body.item_id, body.timestamp, body.weight, body.rating, body.kind, body.context
    )
    return InteractionRecorded(
        user_id=user_id, item_id=body.item_id, key=key, timestamp=ts, history=history
    )


@router.get(
    "/{user_id}/recommendations/{item_id}/explanation",
    response_model=Explanation,
    responses=responses(401, 404, 422, 503),
    summary="Explain a recommendation with knowledge-graph paths",
)
def explain(
    user_id: UserId,
    item_id: Annotated[Id, Path(description="The recommended item.")],
    runtime: RuntimeDep,
    state: StateDep,
    limit: Annotated[int, Query(ge=1, le=20, description="How many paths.")] = 3,
) -> Explanation:
    """The best short paths from the user's recent items to this item, ranked by hops and
    the rarity of the entities they pass through, each as a sentence."""
    if user_id not in state.users.index:
        raise not_found(["path", "user_id"], f"no user {user_id!r} in the served run")
    item = state.catalogue.index.get(item_id)
    if item is None:
        raise not_found(["path", "item_id"], f"no item {item_id!r} in the served run")
    history = runtime.recent_items(user_id, runtime.settings.explain_history)
    rows = runtime.explain_rows(history, item_id) if history else []
    degree = state_degrees(state, rows)
    ranked = rank_paths(parse_rows(rows), set(history), item_id, degree, limit)
    return Explanation(
        user_id=user_id,
        item_id=item_id,
        title=state.catalogue.titles[item],
        history_considered=len(history),
        paths=[
            ExplanationPath(
                sentence=path.sentence,
                hops=len(path.steps),
                cost=path.cost,
                nodes=[
                    PathNode(id=n.id, label=n.label, name=display_name(n), type=n.type)
                    for n in path.nodes
                ],
                steps=[PathStep(relation=s.relation, forward=s.forward) for s in path.steps],
            )
            for path in ranked
        ],
    )


def state_degrees(state: ServingState, rows: list[dict[str, Any]]) -> dict[tuple[str, str], int]:
    """KG degree of every node on the candidate paths, from the run (rarity, no extra query).

    Nodes the run does not know (added after it was trained) count as degree 1: rare.
    """
    degree: dict[tuple[str, str], int] = {}
    kg, items = state.kg, state.catalogue.index
    for row in rows:
        for node in row["nodes"]:
            key = (str(node.get("label")), str(node.get("id")))
            if key in degree:
                continue
            if key[0] == "Entity" and key[1] in kg.entity_index:
                degree[key] = int(kg.degree[kg.num_items + kg.entity_index[key[1]]])
            elif key[0] == "Item" and items.get(key[1], kg.num_items) < kg.num_items:
                degree[key] = int(kg.degree[items[key[1]]])
            else:
                degree[key] = 1
    return degree
