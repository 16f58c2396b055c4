"""Shapes, gradients and the inductive path on a tiny real graph."""

from __future__ import annotations

import pytest
import torch
from tailgraph.gnn.data import TrainData
from tailgraph.gnn.models.attention_rerank import AttentionRerank
from tailgraph.gnn.models.attr_cf import AttributeCF
from tailgraph.gnn.models.blend import TextCFBlend
from tailgraph.gnn.models.bpr_mf import BPRMF
from tailgraph.gnn.models.kg_mlp import KGConcatMLP
from tailgraph.gnn.models.lightgcn import LightGCN
from tailgraph.gnn.models.mostpop import MostPop
from tailgraph.gnn.models.tailgraph import TailgraphConfig, TailgraphModel
from tailgraph.gnn.models.text_knn import TextKNN


def _batch(data: TrainData, n_neg: int = 8) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    users, pos = data.train_user[:32], data.train_item[:32]
    return users, pos, torch.randint(data.num_items, (len(users), n_neg))


def test_tiny_data_has_kg_text_and_attributes(tiny_data: TrainData) -> None:
    assert tiny_data.kg_edge_index.shape[1] > 0
    assert tiny_data.num_relations % 2 == 0  # forward + reverse
    norms = tiny_data.item_text.norm(dim=1)
    assert torch.allclose(norms[norms > 0], torch.ones_like(norms[norms > 0]), atol=1e-4)
    assert tiny_data.user_attr.shape == (tiny_data.num_users, len(tiny_data.user_attr_sizes))
    assert len(tiny_data.cold_items) > 0
    assert tiny_data.item_count[tiny_data.cold_items].sum() == 0


@pytest.mark.parametrize(
    "config",
    [TailgraphConfig(), TailgraphConfig(loss="bpr"), TailgraphConfig(use_kg=True),
     TailgraphConfig(use_kg=True, kg_gate=False, kg_detach=True),
     TailgraphConfig(use_kg=True, kg_mode="attention"),
     TailgraphConfig(use_text=False, use_kg=True), TailgraphConfig(use_text=False),
     TailgraphConfig(use_history=False, use_attributes=False),
     TailgraphConfig(use_kg=True, kg_mode="attention", sample_fanout=3)],
)  # fmt: skip
def test_tailgraph_scores_and_gradients(tiny_data: TrainData, config: TailgraphConfig) -> None:
    model = TailgraphModel(tiny_data, config)
    users, pos, neg = _batch(tiny_data, config.num_negatives)
    loss = model.loss(users, pos, neg)
    assert loss.ndim == 0 and torch.isfinite(loss)
    loss.backward()
    assert model.cf.embedding.weight.grad is not None
    assert model.cf.embedding.weight.grad.abs().sum() > 0
    if model.content is not None:
        assert model.content.project.weight.grad is not None
        if config.use_kg and config.kg_mode == "attention":
            conv_grads = [p.grad for p in model.content.convs.parameters() if p.grad is not None]
            assert conv_grads and sum(g.abs().sum() for g in conv_grads) > 0
    if config.use_kg and config.kg_mode == "cf":
        assert model.kg_cf is not None
        assert model.kg_cf.relation_logit.grad is not None
        assert model.kg_cf.relation_logit.grad.abs().sum() > 0
    model.eval()
    model.refresh()
    scores = model.score(torch.arange(5))
    assert scores.shape == (5, tiny_data.num_items)
    boosted = model.score(torch.arange(5), tail_boost=1.0)
    popular = int(tiny_data.item_count.argmax())
    assert boosted[0, popular] < scores[0, popular]


def test_cold_items_are_represented_by_content_only(tiny_data: TrainData) -> None:
    model = TailgraphModel(tiny_data)
    model.eval()
    out = model.forward_all()
    cold = tiny_data.cold_items
    gate = torch.sigmoid(model.gate(torch.zeros(1, 1)))
    assert torch.allclose(out["items"][cold], (1 - gate) * out["content"][cold], atol=1e-6)


@pytest.mark.parametrize("cls", [BPRMF, LightGCN, KGConcatMLP, AttributeCF])
def test_trainable_baselines_give_scores_and_gradients(tiny_data: TrainData, cls: type) -> None:
    model = cls(tiny_data)
    loss = model.loss(*_batch(tiny_data, 1))
    loss.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())
    model.refresh()
    assert model.score(torch.arange(4)).shape == (4, tiny_data.num_items)


def test_fixed_baselines(tiny_data: TrainData) -> None:
    pop = MostPop(tiny_data).score(torch.arange(3))
    assert torch.equal(pop[0], tiny_data.item_count)
    knn = TextKNN(tiny_data).score(torch.arange(3))
    assert knn.shape == (3, tiny_data.num_items) and knn.max() <= 1.0 + 1e-5
    cf = LightGCN(tiny_data)
    cf.refresh()
    blend = TextCFBlend(cf, TextKNN(tiny_data), alpha=1.0).score(torch.arange(3))
    assert torch.argmax(blend[0]) == torch.argmax(knn[0])  # α = 1: text alone decides
    rerank = AttentionRerank(cf, beta=0.5).score(torch.arange(3))
    assert rerank.shape == (3, tiny_data.num_items) and torch.isfinite(rerank).all()


KG_MODES = {
    "no_kg": TailgraphConfig(use_kg=False),
    "cf": TailgraphConfig(use_kg=True, kg_mode="cf"),
    "attention": TailgraphConfig(use_kg=True, kg_mode="attention"),
}


def _head_links(data: TrainData, item: int) -> list[tuple[int, int]] | None:
    """The item's forward links when it is the head of all of its triples, else None."""
    src, dst = data.kg_edge_index
    forward = data.kg_edge_type < data.num_relations // 2
    if ((dst == item) & forward).any():
        return None
    out = (src == item) & forward
    return list(zip(dst[out].tolist(), data.kg_edge_type[out].tolist(), strict=True))


@pytest.mark.parametrize("mode", list(KG_MODES))
def test_new_item_gets_an_embedding_and_can_be_ranked(tiny_data: TrainData, mode: str) -> None:
    model = TailgraphModel(tiny_data, KG_MODES[mode])
    model.eval()
    model.refresh()
    # A copy of an existing item's text and links, added "after training".
    source = int(tiny_data.item_count.argmax())
    links = _head_links(tiny_data, source)
    assert links
    z_new = model.embed_new_items(tiny_data.item_text[source : source + 1], [links])
    assert z_new.shape == (1, model.config.dim)
    content_only = model.embed_new_items(tiny_data.item_text[source : source + 1], [[]])
    # With KG propagation the links change it; without, the KG reaches it through its text
    # (the names of linked entities, assembled by the caller) only.
    assert torch.allclose(z_new, content_only) == (mode == "no_kg")
    cache = model.cached()
    users = model.user_vectors(torch.arange(3), cache["cf_users"], cache["items"])
    scores = users @ torch.cat([cache["items"], z_new]).T
    assert scores.shape == (3, tiny_data.num_items + 1) and torch.isfinite(scores[:, -1]).all()
    with pytest.raises(ValueError, match="not a KG node"):
        model.embed_new_items(tiny_data.item_text[:1], [[(10**6, 0)]])


@pytest.mark.parametrize("mode", ["no_kg", "cf"])
def test_new_item_equals_a_cold_item_with_the_same_text_and_links(
    tiny_data: TrainData, mode: str
) -> None:
    # The inductive path computes what training-time propagation gives a cold item.
    torch.manual_seed(0)
    model = TailgraphModel(tiny_data, KG_MODES[mode])
    for parameter in model.parameters():  # not the initial values: trained-like weights
        parameter.data.add_(0.05 * torch.randn_like(parameter))
    model.eval()
    model.refresh()
    candidates = [(int(c), _head_links(tiny_data, int(c))) for c in tiny_data.cold_items]
    cold, links = next((c, links) for c, links in candidates if links)
    z_new = model.embed_new_items(tiny_data.item_text[cold : cold + 1], [links])
    assert torch.allclose(z_new[0], model.cached()["items"][cold], atol=1e-6)
    if mode == "cf":  # and the KG part is really there: other links, another vector
        assert model.kg_cf is not None
        k, support = model.kg_cf(model.cached()["cf_items"], model.source)
        assert support[cold] > 0 and k[cold].abs().sum() > 0


def test_history_override_changes_the_user_vector(tiny_data: TrainData) -> None:
    model = TailgraphModel(tiny_data)
    model.eval()
    cache = model.cached()
    user = torch.tensor([0])
    before = model.user_vectors(user, cache["cf_users"], cache["items"])
    history = tiny_data.history[user].clone()
    history[0, 1:] = history[0, :-1].clone()
    history[0, 0] = int(tiny_data.cold_items[0])  # a new interaction, most recent first
    after = model.user_vectors(user, cache["cf_users"], cache["items"], history=history)
    assert not torch.allclose(before, after)


def test_relation_conv_matches_the_stock_transformer_conv() -> None:
    from tailgraph.gnn.models.content_tower import RelationTransformerConv
    from torch_geometric.nn import TransformerConv

    torch.manual_seed(0)
    n, m, r, d = 30, 120, 5, 8
    x = torch.randn(n, d)
    edge_index = torch.randint(n, (2, m))
    edge_type = torch.randint(r, (m,))
    relations = torch.randn(r, d)
    stock = TransformerConv(d, d, heads=2, concat=False, edge_dim=d).eval()
    ours = RelationTransformerConv(d, d, heads=2, concat=False, edge_dim=d).eval()
    ours.load_state_dict(stock.state_dict())
    expected = stock(x, edge_index, relations[edge_type])
    got = ours(x, edge_index, ours.relation_features(relations, edge_type))
    assert torch.allclose(got, expected, atol=1e-5)
