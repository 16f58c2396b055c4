"""The issue-11 peers: EASE, XSimGCL/SimGCL, DropoutNet, ALDI, on hand-made and tiny real data."""

from __future__ import annotations

import inspect
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import pytest
import torch
from tailgraph.encoders import TextEncoder
from tailgraph.gnn.data import TrainData, build_train_data
from tailgraph.gnn.evaluate import evaluate
from tailgraph.gnn.features import TextFeatures
from tailgraph.gnn.harness import HarnessConfig, run_comparison
from tailgraph.gnn.models import aldi, dropoutnet, xsimgcl
from tailgraph.gnn.models.aldi import ALDI
from tailgraph.gnn.models.base import Recommender
from tailgraph.gnn.models.bpr_mf import BPRMF
from tailgraph.gnn.models.dropoutnet import DropoutNet
from tailgraph.gnn.models.ease import EASE, LAMBDAS
from tailgraph.gnn.models.lightgcn import LightGCN
from tailgraph.gnn.models.tailgraph import COLD_KG_SCALES
from tailgraph.gnn.models.xsimgcl import GRID, SimGCL, XSimGCL, XSimGCLConfig, info_nce
from tailgraph.gnn.split import split_interactions
from tailgraph.gnn.train import NegativeSampler, TrainConfig, fit, validation_ndcg
from tailgraph.kg.snapshot import GraphSnapshot

# ---- EASE against a 4 × 4 case solved by hand ---------------------------------------------------

# Users × items: u0 likes items 0, 1; u1 items 0, 1, 2; u2 items 1, 2, 3; u3 items 2, 3.
X = [
    [1, 1, 0, 0],
    [1, 1, 1, 0],
    [0, 1, 1, 1],
    [0, 0, 1, 1],
]
LAM = 2


def solve(a: list[list[Fraction]], b: list[Fraction]) -> list[Fraction]:
    """Exact Gauss–Jordan elimination (a is small and positive definite: no pivoting needed)."""
    n = len(b)
    m = [[*row, b[i]] for i, row in enumerate(a)]
    for c in range(n):
        pivot = m[c][c]
        m[c] = [v / pivot for v in m[c]]
        for r in range(n):
            if r != c:
                factor = m[r][c]
                m[r] = [v - factor * w for v, w in zip(m[r], m[c], strict=True)]
    return [m[r][n] for r in range(n)]


def ease_by_column_regression(x: list[list[int]], lam: int) -> list[list[Fraction]]:
    """EASE from its definition, not its closed form: with diag(B) = 0 the objective
    ‖X − XB‖² + λ‖B‖² separates into one ridge regression per column j of item j's column
    on the other items' columns, b = (X₋ⱼᵀX₋ⱼ + λI)⁻¹ X₋ⱼᵀ xⱼ — solved exactly in fractions."""
    n = len(x[0])
    b = [[Fraction(0)] * n for _ in range(n)]
    for j in range(n):
        others = [k for k in range(n) if k != j]
        gram = [[Fraction(sum(row[p] * row[q] for row in x) + (lam if p == q else 0))
                 for q in others] for p in others]  # fmt: skip
        rhs = [Fraction(sum(row[p] * row[j] for row in x)) for p in others]
        for k, value in zip(others, solve(gram, rhs), strict=True):
            b[k][j] = value
    return b


def hand_data(tiny_data: TrainData) -> TrainData:
    """`tiny_data` reduced to the 4 × 4 X above (EASE reads only these fields)."""
    users = torch.tensor([u for u, row in enumerate(X) for v in row if v])
    items = torch.tensor([i for row in X for i, v in enumerate(row) if v])
    return replace(tiny_data, num_users=4, num_items=4, train_user=users, train_item=items,
                   item_count=torch.bincount(items, minlength=4).float())  # fmt: skip


def test_ease_matches_the_per_column_ridge_regressions(tiny_data: TrainData) -> None:
    expected = ease_by_column_regression(X, LAM)
    # One column by hand (Cramer's rule), as a check of the check: item 0 on items 1..3 solves
    # [[5, 2, 1], [2, 5, 2], [1, 2, 4]] b = [2, 1, 0] (the Gram of columns 1..3 plus 2I, and
    # their overlaps with column 0); the determinant is 67, so b = (26, 7, −10) / 67.
    assert [expected[k][0] for k in (1, 2, 3)] == [Fraction(26, 67), Fraction(7, 67),
                                                    Fraction(-10, 67)]  # fmt: skip
    model = EASE(hand_data(tiny_data), lam=LAM)
    model.refresh()
    got = model.weights().double()
    want = torch.tensor([[float(v) for v in row] for row in expected], dtype=torch.float64)
    assert torch.allclose(got, want, atol=1e-6)
    assert torch.all(got.diagonal() == 0)
    scores = model.score(torch.arange(4))  # s(u, ·) = X_u B
    assert torch.allclose(scores.double(), torch.tensor(X, dtype=torch.float64) @ want, atol=1e-6)


def test_ease_on_tiny_data_scores_untrained_items_zero_and_tunes_lambda(
    tiny_data: TrainData,
) -> None:
    model = EASE(tiny_data)
    model.refresh()
    scores = model.score(torch.arange(5))
    assert scores.shape == (5, tiny_data.num_items) and torch.isfinite(scores).all()
    assert torch.all(scores[:, tiny_data.cold_items] == 0)  # ID-only: nothing for cold items
    chosen = model.tune(lambda: -abs(model.lam - LAMBDAS[2]))  # a validate() peaked at λ₂
    assert chosen["lambda"] == LAMBDAS[2] == model.lam
    fresh = EASE(tiny_data)
    fresh.use_tuned(chosen)  # what a refit applies
    assert fresh.lam == LAMBDAS[2]
    assert torch.allclose(model.score(torch.arange(5)), fresh.score(torch.arange(5)))


# ---- XSimGCL: noise and loss --------------------------------------------------------------------


def test_info_nce_on_orthonormal_views_is_the_hand_value() -> None:
    # Identical orthonormal rows: cos = 1 with itself, 0 with the n − 1 others, so each row's
    # loss is −log(e^{1/τ} / (e^{1/τ} + n − 1)).
    n, tau = 4, 0.5
    view = torch.eye(n) * 3.0  # the scale is normalised away
    expected = -torch.log(
        torch.exp(torch.tensor(1 / tau)) / (torch.exp(torch.tensor(1 / tau)) + n - 1)
    )
    assert float(info_nce(view, view.clone(), tau)) == pytest.approx(float(expected), rel=1e-6)
    # A view paired with the wrong rows is penalised more.
    assert float(info_nce(view, view.roll(1, dims=0), tau)) > float(expected) + 1


def test_xsimgcl_noise_keeps_each_sign_and_has_norm_eps(tiny_data: TrainData) -> None:
    torch.manual_seed(0)
    model = XSimGCL(tiny_data, XSimGCLConfig(eps=0.3, cl_layer=1))
    clean_layer1 = model.model.convs[0](model.model.embedding.weight, model.adjacency)
    clean_final, clean_contrast = model.propagate(perturbed=False)
    assert torch.allclose(clean_contrast, clean_layer1)
    torch.manual_seed(5)
    final, contrast = model.propagate(perturbed=True)
    noise = (contrast - clean_layer1).detach()  # Δ¹ = ε · sign(E¹) ⊙ normalize(U¹)
    connected = (clean_layer1 != 0).all(dim=1)  # nodes with training edges
    assert connected.float().mean() > 0.5
    assert torch.allclose(noise[connected].norm(dim=1), torch.tensor(0.3), atol=1e-5)
    # A node without training edges (a cold item) has E¹ = 0, so sign(E¹) = 0: no noise.
    assert torch.all(noise[~(clean_layer1 != 0).any(dim=1)] == 0)
    moved = noise.abs() > 1e-7
    assert moved[connected].float().mean() > 0.9  # U ~ U(0, 1): almost every entry moves
    assert torch.equal(torch.sign(noise)[moved], torch.sign(clean_layer1)[moved].detach())
    assert not torch.allclose(final, clean_final)
    torch.manual_seed(5)
    assert torch.equal(model.propagate(perturbed=True)[0], final)  # noise from the global RNG


def test_xsimgcl_loss_is_bpr_plus_reg_plus_weighted_cross_layer_contrast(
    tiny_data: TrainData,
) -> None:
    torch.manual_seed(0)
    model = XSimGCL(tiny_data, XSimGCLConfig(cl_weight=0.0))
    users, pos = tiny_data.train_user[:64], tiny_data.train_item[:64]
    neg = torch.randint(0, tiny_data.num_items, (64, 1))

    def loss(weight: float) -> float:
        model.config = XSimGCLConfig(cl_weight=weight)
        torch.manual_seed(3)  # the same noise draws
        with torch.no_grad():
            return float(model.loss(users, pos, neg))

    torch.manual_seed(3)
    with torch.no_grad():
        final, contrast = model.propagate(perturbed=True)
    offset = tiny_data.num_users
    uu, ii = torch.unique(users), torch.unique(pos) + offset
    cl = info_nce(final[uu], contrast[uu], 0.2) + info_nce(final[ii], contrast[ii], 0.2)
    assert loss(0.5) - loss(0.0) == pytest.approx(0.5 * float(cl), rel=1e-4)
    assert float(cl) > 0


# ---- the same grid size for every tuned model -------------------------------------------------


def test_every_peer_gets_as_many_settings_as_the_tailgraph_model() -> None:
    sizes = {
        "ease": len(LAMBDAS),
        "xsimgcl": len(xsimgcl.GRID),
        "simgcl": len(xsimgcl.SIMGCL_GRID),
        "dropoutnet": len(dropoutnet.GRID),
        "aldi": len(aldi.GRID),
    }
    assert set(sizes.values()) == {len(COLD_KG_SCALES)}, sizes
    # Each grid starts with the default the model is built with (what `fit` trains first).
    assert XSimGCLConfig().cl_weight == xsimgcl.GRID[0]["cl_weight"]
    assert dropoutnet.DropoutNetConfig().dropout == dropoutnet.GRID[0]["dropout"]
    assert aldi.ALDIConfig().alpha == aldi.GRID[0]["alpha"]
    assert inspect.signature(EASE).parameters["lam"].default == LAMBDAS[0]
    for grid in (xsimgcl.GRID, xsimgcl.SIMGCL_GRID, dropoutnet.GRID, aldi.GRID):
        assert len({tuple(sorted(s.items())) for s in grid}) == len(grid)  # no repeats


# ---- trainable peers ------------------------------------------------------------------------


def teacher(data: TrainData) -> LightGCN:
    torch.manual_seed(0)
    model = LightGCN(data)
    fit(model, data, TrainConfig(epochs=20, min_epochs=20, progress=False))
    return model


@pytest.fixture(scope="module")
def tiny_teacher(tiny_data: TrainData) -> LightGCN:
    return teacher(tiny_data)


def build(name: str, data: TrainData, cf: LightGCN) -> Recommender:
    torch.manual_seed(0)
    if name == "xsimgcl":
        return XSimGCL(data)
    if name == "simgcl":
        return SimGCL(data)
    return DropoutNet(cf) if name == "dropoutnet" else ALDI(cf)


PEERS = ["xsimgcl", "simgcl", "dropoutnet", "aldi"]


@pytest.mark.parametrize("name", PEERS)
def test_peer_loss_decreases_and_scores_have_the_harness_shapes(
    tiny_data: TrainData, tiny_teacher: LightGCN, name: str
) -> None:
    model = build(name, tiny_data, tiny_teacher)
    sampler = NegativeSampler(tiny_data, torch.nonzero(tiny_data.warm_mask).flatten(),
                              torch.Generator().manual_seed(0))  # fmt: skip
    users, pos = tiny_data.train_user[:256], tiny_data.train_item[:256]
    neg = sampler.sample(users, getattr(model, "num_negatives", 1))

    def batch_loss() -> float:
        torch.manual_seed(1)  # the same noise / dropout draws each time
        model.train()
        with torch.no_grad():
            return float(model.loss(users, pos, neg))

    before = batch_loss()
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)
    for _ in range(30):
        loss = model.loss(users, pos, neg)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert batch_loss() < 0.9 * before
    model.eval()
    model.refresh()
    scores = model.score(torch.arange(5))
    assert scores.shape == (5, tiny_data.num_items) and torch.isfinite(scores).all()


@pytest.mark.parametrize("name", ["dropoutnet", "aldi"])
def test_cold_items_are_scored_from_content_alone(
    tiny_data: TrainData, tiny_teacher: LightGCN, name: str
) -> None:
    model = build(name, tiny_data, tiny_teacher)
    model.eval()
    users = torch.arange(tiny_data.num_users)
    cold, warm = int(tiny_data.cold_items[0]), int(tiny_data.item_count.argmax())

    def scores_after(change: object) -> torch.Tensor:
        buffers = dict(model.named_buffers())
        saved = {k: v.clone() for k, v in buffers.items()}
        change()  # type: ignore[operator]
        model.refresh()
        out = model.score(users)
        for k, v in saved.items():
            buffers[k].copy_(v)
        return out

    base = scores_after(lambda: None)
    noise = torch.randn(tiny_teacher.model.embedding.weight.shape[1]) * 3

    def bump_teacher(item: int) -> None:
        model.teacher_items[item] += noise  # type: ignore[index]

    def bump_text(item: int) -> None:
        model.content[item] = torch.roll(model.content[item], 7)  # type: ignore[index]

    assert torch.equal(scores_after(lambda: bump_teacher(cold))[:, cold], base[:, cold])
    assert not torch.allclose(scores_after(lambda: bump_text(cold))[:, cold], base[:, cold])
    # The same change to a warm item's teacher row does move its scores: the check can fail.
    assert not torch.allclose(scores_after(lambda: bump_teacher(warm))[:, warm], base[:, warm])


def test_aldi_serves_warm_items_by_the_teacher(tiny_data: TrainData, tiny_teacher: LightGCN):
    model = ALDI(tiny_teacher)
    model.eval()
    users = torch.arange(6)
    warm = torch.nonzero(tiny_data.item_count > 0).flatten()
    teacher_users, teacher_items = tiny_teacher.cached()
    expected = teacher_users[users] @ teacher_items[warm].T
    assert torch.allclose(model.score(users)[:, warm], expected, atol=1e-6)


@pytest.fixture(scope="module")
def tiny_data_with_cold_validation(
    tiny_snapshot: GraphSnapshot, tiny_features: TextFeatures
) -> TrainData:
    split = split_interactions(tiny_snapshot.interactions, tiny_snapshot.num_items, seed=0,
                               cold_valid_fraction=0.1)  # fmt: skip
    return build_train_data(tiny_snapshot, split, tiny_features.items, tiny_features.entities)


@pytest.mark.parametrize("name", ["dropoutnet", "aldi"])
def test_cold_start_peers_select_on_the_cold_validation_items(
    tiny_data_with_cold_validation: TrainData, tiny_data: TrainData, tiny_teacher: LightGCN,
    name: str,
) -> None:  # fmt: skip
    data = tiny_data_with_cold_validation
    assert len(data.cold_valid_items) > 0
    model = build(name, data, teacher(data))
    model.eval()
    model.refresh()

    def ndcg(part: str) -> float:
        return float(
            evaluate(model.score, data, part, with_buckets=False, ks=(20,))["overall"]["ndcg@20"]
        )  # type: ignore[index]

    # DropoutNet: warm + cold validation, as its official code sums warm and cold recall;
    # ALDI: cold validation alone (its warm scores are the teacher's).
    expected = ndcg("cold_valid") + (ndcg("valid") if name == "dropoutnet" else 0.0)
    assert validation_ndcg(model, data) == pytest.approx(expected)
    # Without cold validation items the harness's warm validation decides.
    assert build(name, tiny_data, tiny_teacher).validation_parts == ("valid",)


def test_tune_retrains_each_grid_setting_and_keeps_the_best(tiny_data: TrainData) -> None:
    torch.manual_seed(0)
    train = TrainConfig(epochs=1, min_epochs=1, patience=1, progress=False)
    model = XSimGCL(tiny_data, train=train)
    fit(model, tiny_data, train)
    seen: list[float] = []

    def validate() -> float:  # prefers the third setting's λ, whatever the data say
        seen.append(model.config.cl_weight)
        return -abs(model.config.cl_weight - GRID[2]["cl_weight"])

    chosen = model.tune(validate)
    assert seen == [setting["cl_weight"] for setting in GRID]  # each setting trained, then scored
    assert chosen["setting"] == 2 and model.config.cl_weight == GRID[2]["cl_weight"]


@pytest.mark.slow
def test_the_harness_trains_and_evaluates_every_peer(
    tiny_snapshot: GraphSnapshot, encoder: TextEncoder, cache_dir: Path
) -> None:
    config = HarnessConfig(
        seed=0,
        models=("lightgcn", "ease", "xsimgcl", "dropoutnet", "aldi"),
        train=TrainConfig(epochs=2, min_epochs=1, patience=1, progress=False),
    )
    result = run_comparison(tiny_snapshot, config, "tiny", encoder, cache_dir, verbose=False)
    models = result.metrics["models"]
    for name in config.models:
        assert 0.0 <= models[name]["overall"]["ndcg@20"] <= 1.0
        assert "recall@20" in models[name]["cold"]
    assert models["ease"]["tuned"]["lambda"] in LAMBDAS
    assert models["aldi"]["tuned"]["setting"] in range(len(aldi.GRID))


def test_a_model_can_ask_not_to_be_stopped_before_its_min_epochs(tiny_data: TrainData) -> None:
    class Frozen(BPRMF):  # zero gradients: validation never improves after epoch 1
        def loss(self, users: torch.Tensor, pos: torch.Tensor, neg: torch.Tensor) -> torch.Tensor:
            return super().loss(users, pos, neg) * 0.0

    class SlowStarter(Frozen):
        min_epochs = 6

    config = TrainConfig(epochs=8, min_epochs=1, patience=1, progress=False)
    assert fit(Frozen(tiny_data), tiny_data, config).epochs_run == 2  # patience 1 stops it
    assert fit(SlowStarter(tiny_data), tiny_data, config).epochs_run == 6
