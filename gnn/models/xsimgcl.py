"""XSimGCL (Yu et al., TKDE 2023, "XSimGCL: Towards Extremely Simple Graph Contrastive
Learning for Recommendation"), and SimGCL (Yu et al., SIGIR 2022) as its `cross_layer=False`
variant; LightGCN encoder via PyG's `LGConv` over the pre-normalised adjacency.

Encoder (Â = D^{-1/2} A D^{-1/2} over the user–item training graph, E⁰ the ID embeddings):

    E^{l} = Â E^{l−1} + Δ^{l},   Δ^{l} = ε · sign(E^{l}) ⊙ normalize(U^{l}),  U^{l} ~ U(0, 1)^{N×d}

(the noise is added after each propagation and carried into the next layer; Δ keeps each
entry's sign, so it only rotates an embedding within its orthant by at most ε), and the
final embedding is the mean of layers 1..L (layer 0 excluded, as in the official code):
E = (1/L) Σ_{l=1}^{L} E^{l}.

XSimGCL loss for a batch of (u, i⁺, i⁻), with the *perturbed* encoder used for both parts:

    L = BPR(⟨e_u, e_{i⁺}⟩ − ⟨e_u, e_{i⁻}⟩)
        + λ · (InfoNCE_τ(E_U, E^{l*}_U) + InfoNCE_τ(E_I, E^{l*}_I))
        + reg · (‖E_u‖ + ‖E_{i⁺}‖) / B

InfoNCE_τ(A, C) = −mean_k log( exp(cos(a_k, c_k)/τ) / Σ_j exp(cos(a_k, c_j)/τ) ) over the
batch's unique users (resp. unique positive items): the final layer is contrasted with
layer l* of the same perturbed pass (cross-layer contrast: one forward pass, not two).
SimGCL instead trains BPR on the clean encoder and contrasts the final embeddings of two
extra perturbed passes (official temperature 0.2). Scoring uses the clean encoder,
s(u, i) = ⟨e_u, e_i⟩. L2 is the official `l2_reg_loss` (Frobenius norms, not squared, of the
batch's final user and positive-item embeddings, divided by the batch size).

Details from the official code (github.com/Coder-Yu/SELFRec, model/graph/XSimGCL.py and
conf/XSimGCL.yaml): Xavier-uniform init, 2 layers, l* = 1, λ = 0.2, ε = 0.2, τ = 0.15,
reg 10⁻⁴; the default here is RecBole-GNN's best on ML-1M (λ = 0.1, ε = 0.2, τ = 0.2).
Noise is drawn on the CPU (global generator) and moved, so every device trains on the
same draws. `GRID` is tuned on validation NDCG@20 (`tune`, retraining).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, replace

import torch
from tailgraph.gnn.data import TrainData
from tailgraph.gnn.models.base import Recommender, bpr_loss
from tailgraph.gnn.models.grid import Setting, tune_by_retraining
from tailgraph.gnn.models.lightgcn import fixed_graph_lightgcn, normalized_adjacency
from tailgraph.gnn.train import TrainConfig
from torch.nn import functional as F


@dataclass
class XSimGCLConfig:
    dim: int = 64
    layers: int = 2
    cl_layer: int = 1  # l*: the layer contrasted with the final embedding
    cl_weight: float = 0.1  # λ
    eps: float = 0.2  # ε, noise magnitude
    temperature: float = 0.2  # τ
    reg: float = 1e-4
    cross_layer: bool = True  # False: SimGCL (two extra perturbed passes, τ below)


# (λ, ε, τ): RecBole-GNN's best on ML-1M (first, the default), the official SELFRec defaults,
# and a weaker contrast; as many settings as every tuned model gets (docs/decisions.md,
# issue 11).
GRID: tuple[Setting, ...] = (
    {"cl_weight": 0.1, "eps": 0.2, "temperature": 0.2},
    {"cl_weight": 0.2, "eps": 0.2, "temperature": 0.15},
    {"cl_weight": 0.05, "eps": 0.1, "temperature": 0.2},
)
SIMGCL = XSimGCLConfig(cross_layer=False, cl_weight=0.5, eps=0.1, temperature=0.2)
# The official SELFRec setting first, then weaker contrasts down to RecBole-GNN's ML-1M best.
SIMGCL_GRID: tuple[Setting, ...] = (
    {"cl_weight": 0.5, "eps": 0.1, "temperature": 0.2},
    {"cl_weight": 0.1, "eps": 0.1, "temperature": 0.2},
    {"cl_weight": 0.01, "eps": 0.1, "temperature": 0.2},
)


def info_nce(view: torch.Tensor, other: torch.Tensor, temperature: float) -> torch.Tensor:
    """−mean_k log softmax_j(cos(view_k, other_j) / τ)[k]: row k's positive is other_k."""
    view, other = F.normalize(view, dim=1), F.normalize(other, dim=1)
    logits = view @ other.T / temperature
    return -torch.log_softmax(logits, dim=1).diagonal().mean()


class XSimGCL(Recommender):
    name = "xsimgcl"
    # Not stopped before epoch 30 (`gnn.train.fit`): with λ ≥ 0.05 validation NDCG falls after
    # the first epoch and passes that first peak again only after ~25 epochs (~1,000 steps on
    # ML-100K); the common `min_epochs` 10 with patience 10 stopped it in that dip
    # (docs/decisions.md, issue 11).
    min_epochs = 30

    def __init__(
        self, data: TrainData, config: XSimGCLConfig | None = None, train: TrainConfig | None = None
    ) -> None:
        super().__init__(data)
        self.config = config or XSimGCLConfig()
        self.grid = GRID if self.config.cross_layer else SIMGCL_GRID
        self.train_config = train
        num_nodes = data.num_users + data.num_items
        self.register_buffer(
            "adjacency", normalized_adjacency(data.train_edge_index(), num_nodes), persistent=False
        )
        self.model = fixed_graph_lightgcn(num_nodes, self.config.dim, self.config.layers)
        self._cache: torch.Tensor | None = None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.model.reset_parameters()  # Xavier-uniform embeddings, as the official code
        self._cache = None

    def config_dict(self) -> dict[str, object]:
        return asdict(self.config)

    def propagate(self, perturbed: bool) -> tuple[torch.Tensor, torch.Tensor]:
        """(final E [N, d], layer-l* E^{l*} [N, d]) over users then items."""
        x = self.model.embedding.weight
        layers, contrast = [], x
        for depth, conv in enumerate(self.model.convs, start=1):
            x = conv(x, self.adjacency)
            if perturbed:
                noise = torch.rand(x.shape).to(x.device)  # CPU draw: same on every device
                x = x + torch.sign(x) * F.normalize(noise, dim=-1) * self.config.eps
            layers.append(x)
            if depth == self.config.cl_layer:
                contrast = x
        return torch.stack(layers).mean(0), contrast

    def loss(self, users: torch.Tensor, pos: torch.Tensor, neg: torch.Tensor) -> torch.Tensor:
        cfg, offset = self.config, self.data.num_users
        if cfg.cross_layer:
            final, contrast = self.propagate(perturbed=True)
            view, other = final, contrast
        else:
            final, _ = self.propagate(perturbed=False)
            view, _ = self.propagate(perturbed=True)
            other, _ = self.propagate(perturbed=True)
        u, p, n = final[users], final[pos + offset], final[neg[:, 0] + offset]
        rec = bpr_loss((u * p).sum(1), (u * n).sum(1))
        reg = cfg.reg * (u.norm() + p.norm()) / len(users)
        uu, ii = torch.unique(users), torch.unique(pos) + offset
        cl = info_nce(view[uu], other[uu], cfg.temperature)
        cl = cl + info_nce(view[ii], other[ii], cfg.temperature)
        return rec + reg + cfg.cl_weight * cl

    def refresh(self) -> None:
        with torch.no_grad():
            self._cache = self.propagate(perturbed=False)[0]

    def score(self, users: torch.Tensor) -> torch.Tensor:
        if self._cache is None:
            self.refresh()
        assert self._cache is not None
        emb = self._cache
        return emb[users] @ emb[self.data.num_users :].T

    def configure(self, setting: Setting) -> None:
        self.config = replace(self.config, **setting)  # type: ignore[arg-type]
        self.reset_parameters()

    def tune(self, validate: Callable[[], float]) -> dict[str, float]:  # type: ignore[override]
        """The best of `self.grid` on validation NDCG@20, each setting trained afresh."""
        return tune_by_retraining(self, self.grid, self.configure, self.train_config, validate)


class SimGCL(XSimGCL):
    name = "simgcl"

    def __init__(self, data: TrainData, train: TrainConfig | None = None) -> None:
        super().__init__(data, SIMGCL, train)
