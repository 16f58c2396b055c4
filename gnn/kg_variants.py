"""KG diagnostics (KG4RecEval's protocol): the same data with the KG's facts destroyed.

- `shuffled_kg`: within each relation, the tails of its triples are permuted at random
  (seeded). Every relation keeps its number of triples and every head its degree in that
  relation, so the graph's shape and sparsity stay; only which head links to which tail —
  the facts — is lost.
- `removed_kg`: no triples at all.

Both act on the propagation graph of `TrainData` (`kg_edge_index`, forward edges then
their reverses), so a model sees the variant exactly where it would read the KG. Item text
is left as it is (in the `full` text regime it names the real entities), and so are the
KG-degree groups of the evaluation, so every variant is judged on the same item groups.
"""

from __future__ import annotations

from dataclasses import replace

import torch
from tailgraph.gnn.data import TrainData


def forward_edges(data: TrainData) -> tuple[torch.Tensor, torch.Tensor]:
    """(edge_index [2, K], edge_type [K]) of the stored triples, reverses left out."""
    num_forward = data.num_relations // 2
    forward = data.kg_edge_type < num_forward
    return data.kg_edge_index[:, forward], data.kg_edge_type[forward]


def with_forward_edges(
    data: TrainData, edge_index: torch.Tensor, edge_type: torch.Tensor
) -> TrainData:
    """A copy of `data` whose KG is these triples (each also added reversed, as in training)."""
    num_forward = data.num_relations // 2
    both = torch.cat([edge_index, edge_index.flip(0)], dim=1)
    types = torch.cat([edge_type, edge_type + num_forward])
    return replace(data, kg_edge_index=both, kg_edge_type=types)


def shuffled_kg(data: TrainData, seed: int) -> TrainData:
    """Tails permuted within each relation (see the module docstring)."""
    edge_index, edge_type = forward_edges(data)
    heads, tails = edge_index[0].cpu(), edge_index[1].cpu().clone()
    types = edge_type.cpu()
    generator = torch.Generator().manual_seed(seed)
    for relation in torch.unique(types).tolist():
        positions = torch.nonzero(types == relation).flatten()
        tails[positions] = tails[positions[torch.randperm(len(positions), generator=generator)]]
    device = data.kg_edge_index.device
    shuffled = torch.stack([heads, tails]).to(device)
    return with_forward_edges(data, shuffled, edge_type)


def removed_kg(data: TrainData) -> TrainData:
    """No triples: the item–entity graph without edges."""
    device = data.kg_edge_index.device
    empty = torch.zeros(2, 0, dtype=torch.long, device=device)
    return with_forward_edges(data, empty, torch.zeros(0, dtype=torch.long, device=device))
