"""Ranking metrics against hand-computed cases."""

from __future__ import annotations

import math

import pytest
import torch
from tailgraph.gnn.metrics import user_metrics


def test_single_user_hand_computed() -> None:
    # Relevant items at ranks 1 and 3 of a top-4 list; the user has 3 relevant items.
    hits = torch.tensor([[True, False, True, False]])
    m = user_metrics(hits, torch.tensor([3]), k=4)
    dcg = 1 / math.log2(2) + 1 / math.log2(4)
    idcg = 1 / math.log2(2) + 1 / math.log2(3) + 1 / math.log2(4)
    assert m["recall@4"].item() == pytest.approx(2 / 3)
    assert m["ndcg@4"].item() == pytest.approx(dcg / idcg)
    assert m["hit@4"].item() == 1.0


def test_k_cuts_the_list_and_idcg_uses_min_of_relevant_and_k() -> None:
    hits = torch.tensor([[False, True, True, True]])
    m = user_metrics(hits, torch.tensor([5]), k=2)
    assert m["recall@2"].item() == pytest.approx(1 / 5)
    assert m["ndcg@2"].item() == pytest.approx((1 / math.log2(3)) / (1 + 1 / math.log2(3)))


def test_no_hit_and_no_relevant() -> None:
    hits = torch.tensor([[False, False], [False, False]])
    m = user_metrics(hits, torch.tensor([2, 0]), k=2)
    assert m["recall@2"][0].item() == 0.0 and m["ndcg@2"][0].item() == 0.0
    assert m["hit@2"][0].item() == 0.0
    assert math.isnan(m["recall@2"][1].item())  # users without relevant items are excluded


def test_perfect_ranking_scores_one() -> None:
    hits = torch.tensor([[True, True, False]])
    m = user_metrics(hits, torch.tensor([2]), k=3)
    assert m["ndcg@3"].item() == pytest.approx(1.0)
    assert m["recall@3"].item() == pytest.approx(1.0)
