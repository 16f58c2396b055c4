"""ALDI (Huang et al., SIGIR 2023, "Aligning Distillation For Cold-start Item
Recommendation"): a content student distilled from a frozen warm teacher (our LightGCN).

Teacher: propagated LightGCN embeddings t_u, t_i (`cold_start.teacher_embeddings`),
s^T(u, i) = ⟨t_u, t_i⟩. Student (official architecture, `cold_start.tower`):

    g_i = f_I(Φ_i)  (item text embedding → Linear → BN → tanh → Linear),
    m_u = f_U(t_u)  (teacher user embedding, same shape of tower),   s^S(u, i) = ⟨m_u, g_i⟩.

For a batch of (u, i, j) — a training positive i and a uniform warm negative j — with
Δ^S = s^S(u, i) − s^S(u, j), Δ^T likewise, σ the sigmoid and BCE(x, y) = −y log σ(x) −
(1 − y) log(1 − σ(x)):

    L_sup  = mean BCE(Δ^S, 1)                                         (the student's own BPR)
    L_rank = mean w_i · BCE(Δ^S, σ(Δ^T))                              (ranking alignment)
    L_id   = mean w_i · BCE(‖g_i‖² − mean_j ⟨g_i, g_j⟩, σ(‖t_i‖² − mean_j ⟨t_i, t_j⟩))
                                                   (identification alignment; j over the
                                                    batch's negatives)
    L_rate = mean |s^T(u, i) − s^S(u, i)| + |s^T(u, j) − s^S(u, j)|   (rating distribution)
    L = L_sup + α L_rank + β L_id + γ L_rate + reg · ½ Σ ‖W‖²  (tower weights and biases)

Popularity-aware weight (the official `tws` option): w_i = min(tanh(a · q_i), tanh(M)),
q_i = Σ_{u ∈ N(i)} 1 / |N(u)| over training interactions, a = M · I / U (M / the mean of
q over all items), M = 4 — items whose teacher embedding rests on few interactions teach
the student less.

Serving rule (official `get_user_rating`): items with training interactions are scored
by the teacher, s^T(u, i); items without (every cold item) by the student, s^S(u, i) —
from the item's text alone, its teacher row never read. Selection (early stopping and
`tune`) is on cold validation NDCG@20 (`validation_parts`, as the official
code early-stops). `GRID` holds loss weights (α, β, γ).
Defaults are the official ones (α 0.9, β 0.05, γ 0.1, reg 10⁻⁴, 200 hidden units).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace

import torch
from tailgraph.gnn.data import TrainData
from tailgraph.gnn.models.base import Recommender
from tailgraph.gnn.models.cold_start import (
    cold_parts,
    reset_tower,
    teacher_embeddings,
    tower,
)
from tailgraph.gnn.models.grid import Setting, tune_by_retraining
from tailgraph.gnn.models.lightgcn import LightGCN
from tailgraph.gnn.train import TrainConfig
from torch import nn
from torch.nn import functional as F


@dataclass
class ALDIConfig:
    hidden: int = 200
    alpha: float = 0.9  # ranking alignment
    beta: float = 0.05  # identification alignment
    gamma: float = 0.1  # rating-distribution alignment
    reg: float = 1e-4
    popularity_weight: bool = True
    weight_cap: float = 4.0  # M


GRID: tuple[Setting, ...] = (
    {"alpha": 0.9, "beta": 0.05, "gamma": 0.1},
    {"alpha": 0.5, "beta": 0.05, "gamma": 0.1},
    {"alpha": 0.9, "beta": 0.05, "gamma": 0.5},
)


def popularity_weights(data: TrainData, cap: float) -> torch.Tensor:
    """w_i = min(tanh(a · q_i), tanh(M)) with q_i = Σ_{u ∈ N(i)} 1/|N(u)|, a = M · I / U."""
    user_degree = torch.bincount(data.train_user, minlength=data.num_users).float()
    q = torch.ones(data.num_items, device=data.device)
    q_trained = torch.zeros(data.num_items, device=data.device)
    q_trained.index_add_(0, data.train_item, 1.0 / user_degree[data.train_user])
    q = torch.where(data.item_count > 0, q_trained, q)
    a = cap * data.num_items / data.num_users
    return torch.tanh(a * q).clamp(max=math.tanh(cap))


class ALDI(Recommender):
    name = "aldi"

    def __init__(
        self, teacher: LightGCN, config: ALDIConfig | None = None, train: TrainConfig | None = None
    ) -> None:
        data = teacher.data
        super().__init__(data)
        self.config = config or ALDIConfig()
        self.train_config = train
        users, items = teacher_embeddings(teacher)
        self.register_buffer("teacher_users", users, persistent=False)
        self.register_buffer("teacher_items", items, persistent=False)
        self.register_buffer("content", data.item_text.clone(), persistent=False)
        self.register_buffer(
            "weight", popularity_weights(data, self.config.weight_cap), persistent=False
        )
        self.register_buffer("has_cf", data.item_count > 0, persistent=False)
        self.build()
        self._cache: tuple[torch.Tensor, torch.Tensor] | None = None

    def build(self) -> None:
        d, hidden = self.teacher_users.shape[1], self.config.hidden
        self.item_tower = tower([self.content.shape[1], hidden, d])
        self.user_tower = tower([d, hidden, d])
        self.reset_parameters()  # on the CPU, then moved: the same initialisation everywhere
        self.item_tower.to(self.teacher_users.device)
        self.user_tower.to(self.teacher_users.device)

    def reset_parameters(self) -> None:
        reset_tower(self.item_tower)
        reset_tower(self.user_tower)
        self._cache = None

    def config_dict(self) -> dict[str, object]:
        return asdict(self.config)

    # ---- training ----------------------------------------------------------------------------
    def loss(self, users: torch.Tensor, pos: torch.Tensor, neg: torch.Tensor) -> torch.Tensor:
        cfg, neg = self.config, neg[:, 0]
        t_u, t_i, t_j = self.teacher_users[users], self.teacher_items[pos], self.teacher_items[neg]
        g = self.item_tower(self.content[torch.cat([pos, neg])])  # one BN batch, as official
        g_i, g_j = g[: len(pos)], g[len(pos) :]
        m_u = self.user_tower(t_u)
        s_i, s_j = (m_u * g_i).sum(1), (m_u * g_j).sum(1)
        t_pos, t_neg = (t_u * t_i).sum(1), (t_u * t_j).sum(1)
        w = self.weight[pos] if cfg.popularity_weight else torch.ones_like(s_i)
        ones = torch.ones_like(s_i)
        supervised = F.binary_cross_entropy_with_logits(s_i - s_j, ones)
        rank = (w * F.binary_cross_entropy_with_logits(
            s_i - s_j, torch.sigmoid(t_pos - t_neg), reduction="none")).mean()  # fmt: skip
        student_id = g_i.pow(2).sum(1) - (g_i @ g_j.T).mean(1)
        teacher_id = t_i.pow(2).sum(1) - (t_i @ t_j.T).mean(1)
        ident = (w * F.binary_cross_entropy_with_logits(
            student_id, torch.sigmoid(teacher_id), reduction="none")).mean()  # fmt: skip
        rating = ((t_pos - s_i).abs() + (t_neg - s_j).abs()).mean()
        reg = sum(p.pow(2).sum() for n, p in self.named_parameters() if self._regularised(n))
        return (supervised + cfg.alpha * rank + cfg.beta * ident + cfg.gamma * rating
                + cfg.reg * 0.5 * reg)  # fmt: skip

    def _regularised(self, name: str) -> bool:
        """Linear weights and biases (the official L2), not BatchNorm's scale and shift."""
        tower_name, index, _ = name.split(".")
        module = getattr(self, tower_name)[int(index)]
        return isinstance(module, nn.Linear)

    # ---- serving -----------------------------------------------------------------------------
    def student(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(m [U, d], g [I, d]): every user mapped, every item from its text."""
        return self.user_tower(self.teacher_users), self.item_tower(self.content)

    def refresh(self) -> None:
        with torch.no_grad():
            self._cache = self.student()

    def student_score(self, users: torch.Tensor) -> torch.Tensor:
        if self._cache is None:
            self.refresh()
        assert self._cache is not None
        mapped, generated = self._cache
        return mapped[users] @ generated.T

    def score(self, users: torch.Tensor) -> torch.Tensor:
        """Teacher scores for items with training interactions, student scores for the rest.
        The teacher's item matrix is read only at those items' columns."""
        warm = torch.nonzero(self.has_cf).flatten()
        scores = self.student_score(users)
        scores[:, warm] = self.teacher_users[users] @ self.teacher_items[warm].T
        return scores

    @property
    def validation_parts(self) -> tuple[str, ...]:  # type: ignore[override]
        return cold_parts(self.data) or ("valid",)

    def configure(self, setting: Setting) -> None:
        self.config = replace(self.config, **setting)  # type: ignore[arg-type]
        self.build()

    def tune(self, validate: Callable[[], float]) -> dict[str, float]:  # type: ignore[override]
        """The best of `GRID` on `validate()` (cold validation NDCG@20)."""
        return tune_by_retraining(self, GRID, self.configure, self.train_config, validate)
