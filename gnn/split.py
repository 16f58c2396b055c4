"""Train/valid/test split with held-out cold items.

1. Cold items: a seeded `cold_fraction` of the items that have interactions is
   held out entirely: all their interactions leave training and form the cold
   test set. They are items "added after training": the model sees their text
   and KG links, never an interaction.
2. The remaining interactions are split per user 80/10/10 with RecBole's
   ratio-split arithmetic (`_calcu_split_ids`), so peers can be compared on
   the identical split: ordered by timestamp when the dataset has timestamps
   (temporal, RecBole's TO order), seeded-shuffled otherwise (RO order).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass
class Split:
    """Row positions (into the snapshot's interaction table) of each part."""

    train: np.ndarray
    valid: np.ndarray
    test: np.ndarray
    cold_test: np.ndarray
    cold_items: np.ndarray  # item indices held out of training
    order: str  # "temporal" or "random"
    seed: int

    def describe(self) -> dict[str, object]:
        return {
            "order": self.order,
            "seed": self.seed,
            "train": len(self.train),
            "valid": len(self.valid),
            "test": len(self.test),
            "cold_test": len(self.cold_test),
            "cold_items": len(self.cold_items),
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


def split_interactions(
    interactions: pd.DataFrame,
    num_items: int,
    seed: int = 0,
    cold_fraction: float = 0.1,
    ratios: tuple[float, float, float] = (0.8, 0.1, 0.1),
) -> Split:
    """`interactions` has integer `user`, `item` and float `ts` (NaN when absent) columns."""
    rng = np.random.default_rng(seed)
    items_seen = np.unique(interactions["item"].to_numpy())
    n_cold = round(cold_fraction * len(items_seen))
    cold_items = np.sort(rng.choice(items_seen, size=n_cold, replace=False))
    is_cold = np.isin(interactions["item"].to_numpy(), cold_items)
    cold_test = np.flatnonzero(is_cold)

    warm = interactions.loc[~is_cold, ["user", "ts"]].copy()
    warm["pos"] = np.flatnonzero(~is_cold)
    temporal = bool(warm["ts"].notna().all()) and warm["ts"].nunique() > 1
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
    )
