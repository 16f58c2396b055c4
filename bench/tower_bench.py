"""Content-tower layer speed: PyG's stock `TransformerConv` vs `RelationTransformerConv`.

Both run the same function (tests/gnn/test_models.py checks it) on a synthetic graph the
size of the pruned Last.fm item–entity KG by default; the stock layer is given per-edge
relation embeddings (what `ContentTower` did before), ours the relation rows projected
once and gathered. Reported: median seconds of forward + backward of two layers over
`--repeats` runs, and the ratio, measured in the same run. Last line: JSON.

    python bench/tower_bench.py --threads 1
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch
from tailgraph.gnn.models.content_tower import RelationTransformerConv
from torch_geometric.nn import TransformerConv


def step(convs: list[TransformerConv], x: torch.Tensor, edge_index: torch.Tensor,
         edge_type: torch.Tensor, relations: torch.Tensor, ours: bool) -> float:  # fmt: skip
    started = time.perf_counter()
    h = x
    for conv in convs:
        if ours:
            assert isinstance(conv, RelationTransformerConv)
            edge_attr = conv.relation_features(relations, edge_type)
        else:
            edge_attr = relations[edge_type]
        h = h + torch.tanh(conv(h, edge_index, edge_attr))
    h.square().mean().backward()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--nodes", type=int, default=40_000)
    parser.add_argument("--edges", type=int, default=220_000)
    parser.add_argument("--relations", type=int, default=20)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    d = args.dim
    x = torch.randn(args.nodes, d, requires_grad=True)
    edge_index = torch.randint(args.nodes, (2, args.edges))
    edge_type = torch.randint(args.relations, (args.edges,))
    relations = torch.nn.Parameter(torch.randn(args.relations, d))
    stock = [TransformerConv(d, d, heads=2, concat=False, edge_dim=d) for _ in range(2)]
    ours = [RelationTransformerConv(d, d, heads=2, concat=False, edge_dim=d) for _ in range(2)]
    times: dict[str, list[float]] = {"stock": [], "relation": []}
    for _ in range(args.repeats):  # interleaved, so background load hits both alike
        times["stock"].append(step(stock, x, edge_index, edge_type, relations, ours=False))
        times["relation"].append(step(ours, x, edge_index, edge_type, relations, ours=True))
    medians = {k: statistics.median(v) for k, v in times.items()}
    ratio = medians["stock"] / medians["relation"]
    print(f"stock TransformerConv   {medians['stock']:.3f} s  (forward + backward, 2 layers)")
    print(f"RelationTransformerConv {medians['relation']:.3f} s  → {ratio:.2f}× faster")
    print(json.dumps({"bench": "tower", **vars(args), "median_s": medians, "speedup": ratio}))


if __name__ == "__main__":
    main()
