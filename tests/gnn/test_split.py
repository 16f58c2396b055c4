"""The split: RecBole's ratio arithmetic, temporal order, cold items fully held out."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from tailgraph.gnn.split import ratio_counts, split_interactions


@pytest.mark.parametrize(
    ("total", "expected"),
    [(10, [8, 1, 1]), (1, [1, 0, 0]), (2, [1, 0, 1]), (3, [1, 1, 1]), (5, [3, 1, 1]),
     (19, [17, 1, 1]), (20, [16, 2, 2])],
)  # fmt: skip
def test_ratio_counts_follow_recbole(total: int, expected: list[int]) -> None:
    assert ratio_counts(total) == expected
    assert sum(ratio_counts(total)) == total


def _interactions(seed: int = 0, with_ts: bool = True) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = 3000
    return pd.DataFrame({
        "user": rng.integers(0, 60, n),
        "item": rng.integers(0, 200, n),
        "ts": rng.random(n) * 1e6 if with_ts else np.nan,
    })  # fmt: skip


def test_temporal_split_orders_each_user_and_holds_out_cold_items() -> None:
    x = _interactions()
    split = split_interactions(x, 200, seed=1)
    assert split.order == "temporal"
    parts = [split.train, split.valid, split.test, split.cold_test]
    assert sum(len(p) for p in parts) == len(x)
    assert len(np.unique(np.concatenate(parts))) == len(x)  # a partition
    assert not np.isin(x["item"].to_numpy()[split.train], split.cold_items).any()
    assert np.isin(x["item"].to_numpy()[split.cold_test], split.cold_items).all()
    for user, _group in x.iloc[np.concatenate([split.train, split.valid, split.test])].groupby(
        "user"
    ):
        last_train = x.loc[split.train][x.loc[split.train, "user"] == user]["ts"].max()
        first_test = x.loc[split.test][x.loc[split.test, "user"] == user]["ts"].min()
        if not np.isnan(first_test):
            assert last_train <= first_test


def test_random_split_is_seeded() -> None:
    x = _interactions(with_ts=False)
    a, b = split_interactions(x, 200, seed=3), split_interactions(x, 200, seed=3)
    c = split_interactions(x, 200, seed=4)
    assert a.order == "random"
    assert (a.test == b.test).all() and (a.cold_items == b.cold_items).all()
    assert not np.array_equal(a.cold_items, c.cold_items)
