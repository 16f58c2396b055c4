"""Neighbour sampling for the content tower: mini-batch training on KGs too big for full batch.

For an L-layer tower and seed nodes S (the items a training step scores), hop h keeps
at most `fanout` incoming edges, chosen uniformly at random, of every node reached at
hop h − 1 (hop 0 = S); the tower then runs on the union of the kept edges over the nodes
they touch, and the seeds' outputs are read back (GraphSAGE-style sampling, Hamilton et
al. 2017, as PyG's `NeighborLoader` does). With `fanout` ≥ the largest in-degree it is
exact: the seeds' outputs equal the full-graph ones (tested).

PyG's `NeighborLoader`/`LinkNeighborLoader` would do this but need `pyg-lib` or
`torch-sparse`, which have no build for torch 2.13 (the version this project pins);
this is the same sampling in a few vectorised torch operations, on any device.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class IncomingEdges:
    """The graph's edges grouped by destination (CSC), built once per graph."""

    pointer: torch.Tensor  # [N + 1]: edges of destination v are order[pointer[v]:pointer[v+1]]
    order: torch.Tensor  # [M] edge ids sorted by destination
    edge_index: torch.Tensor  # [2, M] (source, destination)
    edge_type: torch.Tensor  # [M]

    @classmethod
    def build(
        cls, edge_index: torch.Tensor, edge_type: torch.Tensor, num_nodes: int
    ) -> IncomingEdges:
        order = torch.argsort(edge_index[1], stable=True)
        counts = torch.bincount(edge_index[1], minlength=num_nodes)
        pointer = torch.zeros(num_nodes + 1, dtype=torch.long, device=edge_index.device)
        pointer[1:] = torch.cumsum(counts, 0)
        return cls(pointer, order, edge_index, edge_type)


@dataclass(frozen=True)
class Subgraph:
    nodes: torch.Tensor  # [n] global node ids; the seeds come first, in the order given
    edge_index: torch.Tensor  # [2, m] local ids (positions in `nodes`)
    edge_type: torch.Tensor  # [m]


def sample_subgraph(
    graph: IncomingEdges,
    seeds: torch.Tensor,
    fanout: int,
    hops: int,
    generator: torch.Generator | None = None,
) -> Subgraph:
    """The `hops`-hop sampled neighbourhood of `seeds` (unique node ids).

    The random keys come from the CPU (`generator`, else the global CPU generator) on any
    device, so a sampled run draws the same neighbourhoods on a GPU as on the CPU.
    """
    device = seeds.device
    num_nodes = len(graph.pointer) - 1
    local = torch.full((num_nodes,), -1, dtype=torch.long, device=device)
    local[seeds] = torch.arange(len(seeds), device=device)
    nodes, kept = [seeds], []
    frontier = seeds
    for _ in range(hops):
        if len(frontier) == 0:
            break
        starts, ends = graph.pointer[frontier], graph.pointer[frontier + 1]
        degree = ends - starts
        # Every incoming edge of the frontier: position within its node's range + offset.
        owner = torch.repeat_interleave(torch.arange(len(frontier), device=device), degree)
        rank_in_node = torch.arange(len(owner), device=device) - torch.repeat_interleave(
            torch.cumsum(degree, 0) - degree, degree
        )
        edges = graph.order[starts[owner] + rank_in_node]
        if len(edges) and int(degree.max()) > fanout:
            # Random keys, sorted within each node: keep the first `fanout` of each.
            keys = torch.rand(len(edges), generator=generator).to(device)
            by_key = torch.argsort(keys)
            by_node = by_key[torch.argsort(owner[by_key], stable=True)]
            position = torch.arange(len(edges), device=device) - torch.repeat_interleave(
                torch.cumsum(degree, 0) - degree, degree
            )
            edges = edges[by_node[position < fanout]]
        kept.append(edges)
        sources = graph.edge_index[0, edges]
        new = torch.unique(sources[local[sources] < 0])
        local[new] = torch.arange(len(new), device=device) + sum(len(n) for n in nodes)
        nodes.append(new)
        frontier = new
    edges = torch.cat(kept) if kept else torch.zeros(0, dtype=torch.long, device=device)
    return Subgraph(
        nodes=torch.cat(nodes),
        edge_index=local[graph.edge_index[:, edges]],
        edge_type=graph.edge_type[edges],
    )
