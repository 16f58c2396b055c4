"""Neighbour sampling for the content tower: exact at full fan-out, bounded below it."""

from __future__ import annotations

import torch
from tailgraph.gnn.data import TrainData
from tailgraph.gnn.models.content_tower import ContentTower
from tailgraph.gnn.sampling import IncomingEdges, sample_subgraph


def _graph(data: TrainData) -> IncomingEdges:
    return IncomingEdges.build(
        data.kg_edge_index, data.kg_edge_type, data.num_items + data.num_entities
    )


def test_full_fanout_reproduces_the_full_graph_tower(tiny_data: TrainData) -> None:
    torch.manual_seed(0)
    tower = ContentTower(tiny_data.item_text.shape[1], 16, tiny_data.num_entities,
                         tiny_data.num_relations, layers=2).eval()  # fmt: skip
    full = tower(tiny_data.item_text, tiny_data.entity_text, tiny_data.kg_edge_index,
                 tiny_data.kg_edge_type)  # fmt: skip
    graph = _graph(tiny_data)
    max_degree = int((graph.pointer[1:] - graph.pointer[:-1]).max())
    seeds = torch.tensor([5, 0, 17, 3])
    sub = sample_subgraph(graph, seeds, fanout=max_degree, hops=2)
    assert torch.equal(sub.nodes[: len(seeds)], seeds)
    h = tower.forward_subgraph(tiny_data.item_text, tiny_data.entity_text, sub.nodes,
                               sub.edge_index, sub.edge_type)  # fmt: skip
    assert torch.allclose(h[: len(seeds)], full[seeds], atol=1e-5)
    # One hop is not enough for two layers: the answer differs somewhere.
    one = sample_subgraph(graph, seeds, fanout=max_degree, hops=1)
    h1 = tower.forward_subgraph(tiny_data.item_text, tiny_data.entity_text, one.nodes,
                                one.edge_index, one.edge_type)  # fmt: skip
    assert not torch.allclose(h1[: len(seeds)], full[seeds], atol=1e-5)


def test_small_fanout_keeps_real_edges_and_bounds_in_degree(tiny_data: TrainData) -> None:
    graph = _graph(tiny_data)
    seeds = torch.arange(20)
    generator = torch.Generator().manual_seed(1)
    sub = sample_subgraph(graph, seeds, fanout=2, hops=2, generator=generator)
    assert len(torch.unique(sub.nodes)) == len(sub.nodes)
    src, dst = sub.nodes[sub.edge_index[0]], sub.nodes[sub.edge_index[1]]
    original = {
        (int(a), int(b), int(t))
        for a, b, t in zip(*tiny_data.kg_edge_index, tiny_data.kg_edge_type, strict=True)
    }
    sampled = {(int(a), int(b), int(t)) for a, b, t in zip(src, dst, sub.edge_type, strict=True)}
    assert sampled <= original and len(sampled) == len(src)  # real edges, none twice
    in_degree = torch.bincount(sub.edge_index[1], minlength=len(sub.nodes))
    assert int(in_degree.max()) <= 2
    full_degree = graph.pointer[1:] - graph.pointer[:-1]
    # Seeds with more than two incoming edges got exactly two.
    assert torch.equal(in_degree[: len(seeds)], full_degree[seeds].clamp(max=2))


def test_the_tiny_graph_exercises_the_sampling_branch(tiny_data: TrainData) -> None:
    # Guard for the test above: some seed must have had more in-edges than the fan-out.
    graph = _graph(tiny_data)
    assert int((graph.pointer[1:21] - graph.pointer[:20]).max()) > 2
