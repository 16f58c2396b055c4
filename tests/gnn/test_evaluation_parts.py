"""What serving sees: the cold validation set, the hybrid metric, text regimes, KG diagnostics."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch
from tailgraph.gnn.data import TrainData, build_train_data, item_texts
from tailgraph.gnn.evaluate import evaluate
from tailgraph.gnn.kg_variants import forward_edges, removed_kg, shuffled_kg
from tailgraph.gnn.split import Split, split_interactions
from tailgraph.kg.snapshot import GraphSnapshot


def _interactions(n: int = 4000, with_ts: bool = True) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({
        "user": rng.integers(0, 80, n),
        "item": rng.integers(0, 300, n),
        "ts": rng.random(n) * 1e6 if with_ts else np.nan,
    })  # fmt: skip


@pytest.mark.parametrize("with_ts", [True, False])
def test_cold_validation_set_is_disjoint_from_cold_test_and_from_training(with_ts: bool) -> None:
    x = _interactions(with_ts=with_ts)
    split = split_interactions(x, 300, seed=2, cold_fraction=0.1, cold_valid_fraction=0.1)
    items = x["item"].to_numpy()
    assert len(split.cold_valid_items) == round(0.1 * len(np.unique(items)))
    assert not np.intersect1d(split.cold_valid_items, split.cold_items).size
    for part in (split.train, split.valid, split.test):
        assert not np.isin(items[part], split.cold_valid_items).any()
        assert not np.isin(items[part], split.cold_items).any()
    assert np.isin(items[split.cold_valid], split.cold_valid_items).all()
    parts = [split.train, split.valid, split.test, split.cold_test, split.cold_valid]
    assert np.array_equal(np.sort(np.concatenate(parts)), np.arange(len(x)))  # a partition
    # Adding the validation share leaves the cold test items as they were.
    plain = split_interactions(x, 300, seed=2, cold_fraction=0.1)
    assert np.array_equal(plain.cold_items, split.cold_items)


def test_random_order_is_honoured_with_timestamps() -> None:
    x = _interactions()
    assert split_interactions(x, 300, order="random").order == "random"
    with pytest.raises(ValueError, match="timestamp"):
        split_interactions(_interactions(with_ts=False), 300, order="temporal")


def _hand_made() -> TrainData:
    """2 users, 6 items: 0–3 warm, 4 a cold test item, 5 a cold validation item.

    user 0: train {0}, valid {1}, test {2}, cold test {4}, cold valid {5}
    user 1: train {1}, test {3}
    """
    rows = [(0, 0), (0, 1), (0, 2), (0, 4), (0, 5), (1, 1), (1, 3)]
    snapshot = GraphSnapshot(
        items=pd.DataFrame({"id": [f"i{k}" for k in range(6)], "title": "t", "description": ""}),
        users=pd.DataFrame({"id": ["u0", "u1"]}),
        entities=pd.DataFrame({"id": pd.Series([], dtype=str), "name": [], "type": []}),
        interactions=pd.DataFrame(
            {"user": [u for u, _ in rows], "item": [i for _, i in rows], "ts": np.nan}
        ),
        kg_edges=pd.DataFrame(
            {
                "head_type": [],
                "head": pd.Series([], dtype=int),
                "relation": [],
                "tail_type": [],
                "tail": pd.Series([], dtype=int),
            }
        ),
    )
    split = Split(
        train=np.array([0, 5]), valid=np.array([1]), test=np.array([2, 6]),
        cold_test=np.array([3]), cold_items=np.array([4]), order="random", seed=0,
        cold_valid=np.array([4]), cold_valid_items=np.array([5]),
    )  # fmt: skip
    return build_train_data(snapshot, split, torch.zeros(6, 4), torch.zeros(0, 4))


SCORES = torch.tensor([
    [10.0, 9.0, 1.0, 2.0, 8.0, 7.0],  # user 0
    [0.0, 5.0, 4.0, 3.0, 6.0, 9.0],  # user 1
])  # fmt: skip


def test_hybrid_metric_against_a_hand_computed_case() -> None:
    data = _hand_made()
    hybrid = evaluate(lambda users: SCORES[users], data, "hybrid", ks=(2, 4))
    # user 0: train, valid and cold-valid items masked → ranking 4, 3, 2; relevant {2, 4}.
    # user 1: train masked → ranking 5, 4, 2, 3, 0; relevant {3}, at rank 4.
    ndcg2_user0 = 1 / (1 + 1 / math.log2(3))
    assert hybrid["overall"]["recall@2"] == pytest.approx((0.5 + 0.0) / 2)
    assert hybrid["overall"]["ndcg@2"] == pytest.approx(ndcg2_user0 / 2)
    ndcg4_user0 = (1 + 1 / math.log2(4)) / (1 + 1 / math.log2(3))
    assert hybrid["overall"]["ndcg@4"] == pytest.approx((ndcg4_user0 + 1 / math.log2(5)) / 2)
    assert hybrid["cold"]["recall@2"] == pytest.approx(1.0)  # user 0's cold item 4, first
    assert hybrid["users"] == 2
    # Validation: warm valid + cold valid of user 0 ({1, 5}), cold test item 4 not a candidate.
    valid = evaluate(lambda users: SCORES[users], data, "hybrid_valid", ks=(2,))
    assert valid["overall"]["ndcg@2"] == pytest.approx(1.0) and valid["users"] == 1
    cold_valid = evaluate(lambda users: SCORES[users], data, "cold_valid", ks=(1,))
    assert cold_valid["overall"]["recall@1"] == pytest.approx(1.0)
    # The warm parts never rank a held-out item.
    test = evaluate(lambda users: SCORES[users], data, "test", ks=(2,))
    assert test["overall"]["recall@2"] == pytest.approx(1.0)  # both in their top 2 warm items


def test_title_regime_text_has_no_description_and_no_entity_name(
    tiny_snapshot: GraphSnapshot,
) -> None:
    full, title = item_texts(tiny_snapshot, "full"), item_texts(tiny_snapshot, "title")
    names = set(tiny_snapshot.entities["name"].dropna()) - {""}
    assert names
    for item, full_text, title_text in zip(
        tiny_snapshot.items.itertuples(), full, title, strict=True
    ):
        assert title_text.startswith(item.title)
        if item.description:
            assert item.description not in title_text and item.description in full_text
        assert not [name for name in names if name in title_text.replace(item.title, "")]
    assert any(name in text for text in full for name in names)


def test_shuffling_keeps_each_relations_triples_and_head_degrees(tiny_data: TrainData) -> None:
    shuffled = shuffled_kg(tiny_data, seed=0)
    (heads, tails), types = forward_edges(tiny_data)
    (new_heads, new_tails), new_types = forward_edges(shuffled)
    assert torch.equal(types, new_types)
    for relation in torch.unique(types):
        same = types == relation
        assert torch.equal(torch.bincount(heads[same]), torch.bincount(new_heads[same]))
        assert sorted(tails[same].tolist()) == sorted(new_tails[same].tolist())
    assert not torch.equal(tails, new_tails)  # the facts moved
    assert shuffled.kg_edge_index.shape == tiny_data.kg_edge_index.shape  # reverses rebuilt
    assert torch.equal(shuffled_kg(tiny_data, seed=0).kg_edge_index, shuffled.kg_edge_index)
    assert removed_kg(tiny_data).kg_edge_index.shape == (2, 0)
    assert torch.equal(shuffled.kg_degree, tiny_data.kg_degree)  # groups judged alike
