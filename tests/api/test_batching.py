"""Micro-batching gives exactly the answers of one-at-a-time scoring, and does batch."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import torch
from fastapi.testclient import TestClient
from tailgraph.api.service.batching import ScoringBatcher

from tests.api.conftest import runtime_of


def test_concurrent_requests_share_a_matmul_with_identical_answers(client: TestClient) -> None:
    state = runtime_of(client).state
    cat = state.catalogue
    horror = state.candidates("genre:horror", None)
    requests = [
        (u, 5 + u % 7, 0.1 * (u % 3), state.seen(u) if u % 2 else None,
         horror if u % 5 == 0 else None)
        for u in range(len(state.users.ids))
    ]  # fmt: skip
    # The same vectors on a second catalogue object (as after a reload): never mixed in.
    other = replace(cat, z=cat.z * 2)
    sizes: list[int] = []
    batcher = ScoringBatcher(max_batch=16, observe_batch=sizes.append)

    async def run_all() -> list[tuple[torch.Tensor, torch.Tensor]]:
        return await asyncio.gather(*(
            batcher.top_k(cat if u % 4 else other, state.user_vector(u), k, boost, seen, mask)
            for u, k, boost, seen, mask in requests
        ))  # fmt: skip

    results = asyncio.run(run_all())
    assert batcher.requests == len(requests) and batcher.batches < len(requests) / 4
    assert sum(sizes) == len(requests) and len(sizes) == batcher.batches and max(sizes) == 16
    for (u, k, boost, seen, mask), (values, indices) in zip(requests, results, strict=True):
        catalogue = cat if u % 4 else other
        [(v, i)] = catalogue.recommend(state.user_vector(u)[None], k, [seen], mask, boost)
        assert torch.equal(indices, i) and torch.allclose(values, v, atol=1e-6)


def test_the_service_answers_the_same_with_and_without_batching(
    make_client: object, api_graph: object
) -> None:
    batched = make_client(api_graph)  # type: ignore[operator]
    single = make_client(api_graph, micro_batch=False)  # type: ignore[operator]
    for user in ("u00001", "u00010", "u00020"):
        for params in ({"k": 7}, {"k": 30, "tail_boost": 0.2, "entity_type": "genre"}):
            a = batched.get(f"/users/{user}/recommendations", params=params).json()
            b = single.get(f"/users/{user}/recommendations", params=params).json()
            assert a == b
    # Every batched request is counted in the batch-size histogram of /metrics.
    metrics = batched.get("/metrics").text
    assert "tailgraph_scoring_batch_size_sum 6.0" in metrics
    assert "tailgraph_scoring_batch_size_count 6.0" in metrics  # TestClient: one at a time
