"""Train/valid/test split with held-out cold items.

1. Cold items: a seeded `cold_fraction` of the items that have interactions is
   held out entirely: all their interactions leave training and form the cold
   test set. They are items "added after training": the model sees their text
   and KG links, never an interaction. A second, disjoint seeded share
   (`cold_valid_fraction`) is held out the same way as the **cold validation**
   set, so settings that matter for cold items are chosen without the test items.
2. The remaining interactions are split per user 80/10/10 with RecBole's
   ratio-split arithmetic (`_calcu_split_ids`), so peers can be compared on
   the identical split: ordered by timestamp when the dataset has timestamps
   (temporal, RecBole's TO order), seeded-shuffled otherwise (RO order);
   `order="random"` shuffles even when timestamps exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd


@dataclass
class Split:
    """Row positions (into the snapshot's interaction table) of each part."""

    train: np.ndarray
    valid: np.ndarray
    test: np.ndarray
    cold_test: np.ndarray
    cold_items: np.ndarray  # item indices held out of training, for the cold test set
    order: str  # "temporal" or "random"
    seed: int
    cold_valid: np.ndarray  # interactions of the cold validation items
    cold_valid_items: np.ndarray  # held out of training too, disjoint from `cold_items`

    def describe(self) -> dict[str, object]:
        return {
            "order": self.order,
            "seed": self.seed,
            "train": len(self.train),
            "valid": len(self.valid),
            "test": len(self.test),
            "cold_test": len(self.cold_test),
            "cold_items": len(self.cold_items),
            "cold_valid": len(self.cold_valid),
            "cold_valid_items": len(self.cold_valid_items),
        }


def ratio_counts(total: int, ratios: tuple[float, ...] = (0.8, 0.1, 0.1)) -> list[int]:
    """How many of a user's `total` interactions go to each part (RecBole's rule).

    int(r·n) for valid/test, the rest to train; a part whose share is between 0 and 1
    interaction gets one, taken from train, while train keeps more than one.
    """
    counts = [int(r * total) for r in ratios]
    counts[0] = total - sum(counts[1:])
    for i in range(1, len(ratios)):
        if counts[0] <= 1:
            break
        if 0 < ratios[-i] * total < 1:
            counts[-i] += 1
            counts[0] -= 1
    return counts


SplitOrder = Literal["auto", "temporal", "random"]


def split_interactions(
    interactions: pd.DataFrame,
    num_items: int,
    seed: int = 0,
    cold_fraction: float = 0.1,
    ratios: tuple[float, float, float] = (0.8, 0.1, 0.1),
    cold_valid_fraction: float = 0.0,
    order: SplitOrder = "auto",
) -> Split:
    """`interactions` has integer `user`, `item` and float `ts` (NaN when absent) columns.

    Both cold shares are fractions of the items that have interactions; the cold test
    items are drawn first, so adding a cold validation share leaves them unchanged.
    `order`: "auto" is temporal when every interaction has a timestamp (and they differ),
    random otherwise; "temporal" without timestamps is an error.
    """
    if cold_fraction + cold_valid_fraction >= 1:
        raise ValueError(
            f"cold_fraction + cold_valid_fraction must be < 1; got {cold_fraction} + "
            f"{cold_valid_fraction}"
        )
    rng = np.random.default_rng(seed)
    items_seen = np.unique(interactions["item"].to_numpy())
    n_cold = round(cold_fraction * len(items_seen))
    cold_items = np.sort(rng.choice(items_seen, size=n_cold, replace=False))
    # A generator of its own: the warm split's draws stay those of a split without it.
    valid_rng = np.random.default_rng([seed, 1])
    rest = np.setdiff1d(items_seen, cold_items)
    n_valid = round(cold_valid_fraction * len(items_seen))
    cold_valid_items = np.sort(valid_rng.choice(rest, size=n_valid, replace=False))
    item = interactions["item"].to_numpy()
    is_cold = np.isin(item, cold_items)
    is_cold_valid = np.isin(item, cold_valid_items)
    cold_test = np.flatnonzero(is_cold)
    cold_valid = np.flatnonzero(is_cold_valid)

    held_out = is_cold | is_cold_valid
    warm = interactions.loc[~held_out, ["user", "ts"]].copy()
    warm["pos"] = np.flatnonzero(~held_out)
    has_time = bool(warm["ts"].notna().all()) and warm["ts"].nunique() > 1
    if order == "temporal" and not has_time:
        raise ValueError("split order 'temporal' needs a timestamp on every interaction")
    temporal = has_time and order != "random"
    if temporal:
        warm = warm.sort_values(["user", "ts", "pos"], kind="stable")
    else:
        warm["shuffle"] = rng.random(len(warm))
        warm = warm.sort_values(["user", "shuffle"], kind="stable")

    parts: list[list[np.ndarray]] = [[], [], []]
    for _, group in warm.groupby("user", sort=True):
        positions = group["pos"].to_numpy()
        n_train, n_valid, _ = ratio_counts(len(positions), ratios)
        parts[0].append(positions[:n_train])
        parts[1].append(positions[n_train : n_train + n_valid])
        parts[2].append(positions[n_train + n_valid :])
    train, valid, test = (np.sort(np.concatenate(p)) if p else np.array([], int) for p in parts)
    return Split(
        train=train,
        valid=valid,
        test=test,
        cold_test=cold_test,
        cold_items=cold_items,
        order="temporal" if temporal else "random",
        seed=seed,
        cold_valid=cold_valid,
        cold_valid_items=cold_valid_items,
    )
