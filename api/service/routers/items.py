"""Items: details, similar items, and adding an item that is recommendable at once."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status
from tailgraph.api.service.dependencies import RuntimeDep, StateDep
from tailgraph.api.service.errors import not_found, responses
from tailgraph.api.service.routers.common import candidate_mask, json_items
from tailgraph.api.service.schemas import (
    K_MAX,
    Id,
    ItemOut,
    LinkOut,
    NewItemRequest,
    SimilarItems,
)
from tailgraph.api.service.state import NewItem, ServingState

router = APIRouter(prefix="/items", tags=["items"])

ItemId = Annotated[Id, Path(description="An item id of the served run (or added since).")]


def _item_out(state: ServingState, item_id: str) -> ItemOut:
    catalogue, kg = state.catalogue, state.kg
    index = catalogue.index.get(item_id)
    if index is None:
        raise not_found(["path", "item_id"], f"no item {item_id!r} in the served run")
    links: list[LinkOut] = []
    added = catalogue.added.get(item_id)
    if added is not None:
        pairs = list(added.links)
    else:
        src, dst = state.data.kg_edge_index
        out = (src == index) & (state.data.kg_edge_type < len(kg.relations))
        names = state.data.relation_names
        pairs = [
            (names[t], kg.entity_ids[d - kg.num_items] if d >= kg.num_items else catalogue.ids[d])
            for d, t in zip(dst[out].tolist(), state.data.kg_edge_type[out].tolist(), strict=True)
        ]
    for relation, target in pairs:
        if target in kg.entity_index:
            row = kg.entity_index[target]
            links.append(
                LinkOut(
                    relation=relation,
                    target=target,
                    name=kg.entity_names[row],
                    type=kg.entity_types[row] or None,
                )
            )
        else:
            links.append(
                LinkOut(
                    relation=relation,
                    target=target,
                    name=catalogue.titles[catalogue.index[target]],
                    type=None,
                )
            )
    return ItemOut(
        item_id=item_id,
        title=catalogue.titles[index],
        popularity=catalogue.bucket[index],  # type: ignore[arg-type]
        interactions=catalogue.count[index],
        added_live=added is not None,
        links=links,
    )


@router.get(
    "/{item_id}",
    response_model=ItemOut,
    responses=responses(401, 404, 422),
    summary="An item: title, popularity, KG links",
)
async def get_item(item_id: ItemId, state: StateDep) -> ItemOut:
    return _item_out(state, item_id)


@router.get(
    "/{item_id}/similar",
    response_model=SimilarItems,
    responses=responses(401, 404, 422),
    summary="Items most similar to an item (cosine over the fused item vectors)",
)
async def similar_items(
    item_id: ItemId,
    state: StateDep,
    k: Annotated[int, Query(ge=1, le=K_MAX)] = 20,
    entity_id: Annotated[Id | None, Query(description="Only items linked to this entity.")] = None,
    entity_type: Annotated[
        str | None,
        Query(
            min_length=1, max_length=64, description="Only items linked to an entity of this type."
        ),
    ] = None,
) -> Response:
    catalogue = state.catalogue
    index = catalogue.index.get(item_id)
    if index is None:
        raise not_found(["path", "item_id"], f"no item {item_id!r} in the served run")
    mask = candidate_mask(state, entity_id, entity_type, "query")
    values, indices = catalogue.similar(index, k, mask)
    body = (
        f'{{"item_id": {json.dumps(item_id)}, "items": {json_items(catalogue, values, indices)}, '
        f'"run": {json.dumps(str(state.run_dir))}}}'
    )
    return Response(body.encode(), media_type="application/json")


@router.post(
    "",
    response_model=ItemOut,
    status_code=status.HTTP_201_CREATED,
    responses=responses(401, 404, 409, 413, 422, 503),
    summary="Add an item with text and KG links (recommendable on the next request)",
)
def add_item(body: NewItemRequest, runtime: RuntimeDep) -> ItemOut:
    """The item's text (title, description, attributes, names of its linked entities — the
    training template) is encoded, then the content tower propagates it over the KG with
    its new links (`embed_new_items`, no retraining). It is written to the graph (item
    node and triples, MERGE), then appended to the served catalogue as a cold item.
    Links: the new item is the head of each relation; targets are entities or items the
    run was trained on. Unknown targets → 404, unknown relations → 422, an existing id →
    409, graph down → 503 (nothing is added)."""
    item = NewItem(
        id=body.id,
        title=body.title,
        description=body.description,
        attributes=dict(body.attributes),
        links=tuple((link.relation, link.target) for link in body.links),
    )
    state = runtime.add_item(item)
    return _item_out(state, item.id)
