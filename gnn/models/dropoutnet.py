"""DropoutNet (Volkovs, Yu & Poutanen, NeurIPS 2017, "DropoutNet: Addressing Cold Start in
Recommender Systems"), for cold items, with our LightGCN as the preference model.

Inputs: the frozen teacher's propagated embeddings U_u, V_i (`cold_start.teacher_embeddings`),
standardised per dimension over users / over items with training interactions and clipped
to ±5 (as the official code's `prep_standardize`), and the item content Φ_i = the frozen
language-model text embedding the Tailgraph model uses (`TrainData.item_text`). Towers:

    f_U(u) = MLP_U(Û_u),        f_V(i) = MLP_V([δ_i · V̂_i ; Φ_i]),      s(u, i) = ⟨f_U(u), f_V(i)⟩

with MLP = (Linear → BatchNorm → tanh)* → Linear (official architecture). Training
reproduces the teacher's scores,

    L = mean_{(u, i)} ( ⟨f_U(u), f_V(i)⟩ − ⟨U_u, V_i⟩ )²,

over each batch's (user, positive) pairs and `num_negatives` uniform (user, negative)
pairs (the official code regresses on each user's top teacher items plus as many random
ones). **Input dropout**: in each pair the item's preference input is zeroed (δ_i = 0) with
probability `dropout`, so the item tower learns to place an item from its content alone —
the cold-start regime. An item with no training interaction (every cold item) always
has δ_i = 0: it is scored from its content alone, and its teacher row is never read. No
user is cold here, so only item preferences are dropped (the official code drops users'
too, for cold users).

Selection: validation (early stopping and `tune`) is warm validation NDCG@20 + cold
validation NDCG@20 (`validation_parts`, `cold_start.cold_parts`; the official code selects on the
sum of warm and cold recall). `GRID` (the dropout rate, the official code's one tuned
knob) is tuned by retraining.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, replace

import torch
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


@dataclass
class DropoutNetConfig:
    hidden: int = 256  # tower widths hidden → hidden / 2 (official: 800 → 400 for a 200-d model)
    dim: int = 64  # output rank
    dropout: float = 0.5  # official default
    num_negatives: int = 4


GRID: tuple[Setting, ...] = (
    {"dropout": 0.5, "hidden": 256},
    {"dropout": 0.3, "hidden": 256},
    {"dropout": 0.7, "hidden": 256},
)


def standardised(x: torch.Tensor, rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(mean, std) per column over `rows` of x (std floored)."""
    sub = x[rows]
    return sub.mean(0), sub.std(0).clamp(min=1e-6)


class DropoutNet(Recommender):
    name = "dropoutnet"

    def __init__(
        self,
        teacher: LightGCN,
        config: DropoutNetConfig | None = None,
        train: TrainConfig | None = None,
    ) -> None:
        data = teacher.data
        super().__init__(data)
        self.config = cfg = config or DropoutNetConfig()
        self.num_negatives = cfg.num_negatives
        self.train_config = train
        users, items = teacher_embeddings(teacher)
        has_cf = data.item_count > 0
        u_mean, u_std = standardised(users, torch.arange(data.num_users, device=users.device))
        v_mean, v_std = standardised(items, torch.nonzero(has_cf).flatten())
        # Buffers: they move with the model and stay out of its state (they are not learned).
        self.register_buffer("teacher_users", users, persistent=False)
        self.register_buffer("teacher_items", items, persistent=False)
        self.register_buffer("content", data.item_text.clone(), persistent=False)
        self.register_buffer("stats", torch.stack([u_mean, u_std, v_mean, v_std]), persistent=False)
        self.register_buffer("has_cf", has_cf, persistent=False)
        self.build()
        self._cache: tuple[torch.Tensor, torch.Tensor] | None = None

    def build(self) -> None:
        cfg, d = self.config, self.teacher_users.shape[1]
        widths = [cfg.hidden, cfg.hidden // 2, cfg.dim]
        self.user_tower = tower([d, *widths], batch_norm_momentum=0.01, eps=1e-3)
        self.item_tower = tower([d + self.content.shape[1], *widths], 0.01, 1e-3)
        self.reset_parameters()  # on the CPU, then moved: the same initialisation everywhere
        self.user_tower.to(self.teacher_users.device)
        self.item_tower.to(self.teacher_users.device)

    def reset_parameters(self) -> None:
        reset_tower(self.user_tower)
        reset_tower(self.item_tower)
        self._cache = None

    def config_dict(self) -> dict[str, object]:
        return asdict(self.config)

    # ---- inputs ------------------------------------------------------------------------------
    def user_input(self, users: torch.Tensor) -> torch.Tensor:
        mean, std = self.stats[0], self.stats[1]
        return ((self.teacher_users[users] - mean) / std).clamp(-5, 5)

    def item_input(self, items: torch.Tensor, keep_cf: torch.Tensor) -> torch.Tensor:
        """[Ṽ_i ; Φ_i]: the preference part only where `keep_cf` and the item has CF —
        elsewhere zeros, and the teacher row is not read (`where`, not a product)."""
        mean, std = self.stats[2], self.stats[3]
        use = keep_cf & self.has_cf[items]
        pref = ((self.teacher_items[items] - mean) / std).clamp(-5, 5)
        pref = torch.where(use.unsqueeze(1), pref, torch.zeros_like(pref))
        return torch.cat([pref, self.content[items]], dim=1)

    # ---- training ----------------------------------------------------------------------------
    def loss(self, users: torch.Tensor, pos: torch.Tensor, neg: torch.Tensor) -> torch.Tensor:
        items = torch.cat([pos.unsqueeze(1), neg], dim=1).reshape(-1)  # [B · (1 + N)]
        pair_users = users.unsqueeze(1).expand(-1, neg.shape[1] + 1).reshape(-1)
        # Dropout per pair, drawn on the CPU: the same draws on every device.
        dropped = (torch.rand(len(items)) < self.config.dropout).to(items.device)
        # Each tower runs once per distinct input: unique users, unique (item, dropped).
        uniq_users, user_pos = torch.unique(pair_users, return_inverse=True)
        key = items * 2 + dropped.long()
        uniq_keys, item_pos = torch.unique(key, return_inverse=True)
        u = self.user_tower(self.user_input(uniq_users))[user_pos]
        v = self.item_tower(self.item_input(uniq_keys // 2, uniq_keys % 2 == 0))[item_pos]
        target = (self.teacher_users[pair_users] * self.teacher_items[items]).sum(1)
        return ((u * v).sum(1) - target).pow(2).mean()

    # ---- serving -----------------------------------------------------------------------------
    def refresh(self) -> None:
        """f_U for every user and f_V for every item (items without CF from content alone)."""
        users = torch.arange(self.data.num_users, device=self.teacher_users.device)
        items = torch.arange(self.data.num_items, device=self.teacher_users.device)
        keep = torch.ones_like(items, dtype=torch.bool)
        with torch.no_grad():
            user_vectors = self.user_tower(self.user_input(users))
            self._cache = user_vectors, self.item_tower(self.item_input(items, keep))

    def score(self, users: torch.Tensor) -> torch.Tensor:
        if self._cache is None:
            self.refresh()
        assert self._cache is not None
        user_vectors, item_vectors = self._cache
        return user_vectors[users] @ item_vectors.T

    @property
    def validation_parts(self) -> tuple[str, ...]:  # type: ignore[override]
        return ("valid", *cold_parts(self.data))

    def configure(self, setting: Setting) -> None:
        self.config = replace(self.config, **setting)  # type: ignore[arg-type]
        self.build()

    def tune(self, validate: Callable[[], float]) -> dict[str, float]:  # type: ignore[override]
        """The best of `GRID` on `validate()` (warm + cold validation NDCG@20)."""
        return tune_by_retraining(self, GRID, self.configure, self.train_config, validate)
