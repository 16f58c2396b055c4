"""LightGCN (He et al., SIGIR 2020), ID embeddings only, via PyG's `LightGCN`/`LGConv`.

E^{(k+1)} = D^{-1/2} A D^{-1/2} E^{(k)} over the user–item training graph,
final embedding E = Σ_k α_k E^{(k)} with α_k = 1/(K+1); s(u, i) = ⟨e_u, e_i⟩;
BPR loss with L2 on the layer-0 embeddings of the batch.
"""

from __future__ import annotations

import warnings

import torch
from tailgraph.gnn.data import TrainData
from tailgraph.gnn.models.base import Recommender, bpr_loss
from torch_geometric.nn.conv.gcn_conv import gcn_norm
from torch_geometric.nn.models import LightGCN as PygLightGCN
from torch_geometric.utils import to_torch_csr_tensor


def normalized_adjacency(edge_index: torch.Tensor, num_nodes: int) -> torch.Tensor:
    """D^{-1/2} A D^{-1/2} as a torch CSR tensor, computed once (the graph is fixed)."""
    index, weight = gcn_norm(edge_index, None, num_nodes, add_self_loops=False)
    # Valid by construction (PyG sorts the in-range edge list into CSR), so the invariant
    # checks are explicitly off, which is what torch's "implicitly disabled" warning asks;
    # the "CSR support is in beta" notice is silenced here, where it would print on every run.
    with torch.sparse.check_sparse_tensor_invariants(enable=False), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta state")
        return to_torch_csr_tensor(index, weight, size=(num_nodes, num_nodes))


def fixed_graph_lightgcn(num_nodes: int, dim: int, layers: int) -> PygLightGCN:
    """PyG LightGCN whose LGConv layers take the pre-normalised adjacency (one SpMM each)
    instead of re-normalising the edge list on every forward pass."""
    model = PygLightGCN(num_nodes, dim, layers)
    for conv in model.convs:
        conv.normalize = False
    return model


class LightGCN(Recommender):
    name = "lightgcn"

    def __init__(self, data: TrainData, dim: int = 64, layers: int = 3, l2: float = 1e-4) -> None:
        super().__init__(data)
        num_nodes = data.num_users + data.num_items
        self.model = fixed_graph_lightgcn(num_nodes, dim, layers)
        self.register_buffer(
            "adjacency", normalized_adjacency(data.train_edge_index(), num_nodes), persistent=False
        )
        self.l2 = l2
        self._cache: torch.Tensor | None = None

    def embeddings(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Propagated (users [U, d], items [I, d])."""
        out = self.model.get_embedding(self.adjacency)
        return out[: self.data.num_users], out[self.data.num_users :]

    def loss(self, users: torch.Tensor, pos: torch.Tensor, neg: torch.Tensor) -> torch.Tensor:
        user_emb, item_emb = self.embeddings()
        u, p, n = user_emb[users], item_emb[pos], item_emb[neg[:, 0]]
        base = self.model.embedding.weight
        offset = self.data.num_users
        reg = (
            base[users].pow(2).sum() + base[pos + offset].pow(2).sum()
            + base[neg[:, 0] + offset].pow(2).sum()
        ) / (2 * len(users))  # fmt: skip
        return bpr_loss((u * p).sum(1), (u * n).sum(1)) + self.l2 * reg

    def refresh(self) -> None:
        with torch.no_grad():
            users, items = self.embeddings()
            self._cache = torch.cat([users, items])

    def cached(self) -> tuple[torch.Tensor, torch.Tensor]:
        if self._cache is None:
            self.refresh()
        assert self._cache is not None
        return self._cache[: self.data.num_users], self._cache[self.data.num_users :]

    def score(self, users: torch.Tensor) -> torch.Tensor:
        user_emb, item_emb = self.cached()
        return user_emb[users] @ item_emb.T
