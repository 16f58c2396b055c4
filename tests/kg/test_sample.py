"""The synthetic sample: shape, determinism, long tail, and real signal in its KG and text."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tailgraph.kg.adapters import load_dataset
from tailgraph.kg.dataset import REQUIRED_COLUMNS, Dataset
from tailgraph.kg.sample import GENRES, generate_sample, write_sample
from tailgraph.kg.validate import RESERVED_PROPERTIES, validate

SAFE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@pytest.fixture(scope="module")
def small() -> Dataset:
    return generate_sample("small", seed=0)


def test_tiny_is_complete() -> None:
    ds = generate_sample("tiny", seed=0)
    assert len(ds.items) == 60 and ds.users is not None and len(ds.users) == 40
    assert ds.interactions is not None and 300 <= len(ds.interactions) <= 900
    for name, frame in ds.tables().items():
        assert set(REQUIRED_COLUMNS[name]) <= set(frame.columns)


def test_small_and_default_sizes(small: Dataset) -> None:
    assert len(small.items) == 600 and small.users is not None and len(small.users) == 400
    assert small.interactions is not None and 13_000 <= len(small.interactions) <= 17_000
    default = generate_sample("default", seed=0)
    assert len(default.items) == 3000 and default.users is not None and len(default.users) == 2000
    assert default.interactions is not None and 72_000 <= len(default.interactions) <= 88_000
    with pytest.raises(ValueError, match="expected one of tiny, small, default"):
        generate_sample("huge")


def test_deterministic_per_seed_and_seeds_differ() -> None:
    first, again, other = (generate_sample("tiny", seed=s) for s in (7, 7, 8))
    for name, frame in first.tables().items():
        pd.testing.assert_frame_equal(frame, again.tables()[name])
    assert first.interactions is not None and other.interactions is not None
    assert not first.items["title"].equals(other.items["title"])
    assert not first.interactions.equals(other.interactions)


def test_graph_is_consistent(small: Dataset) -> None:
    assert small.entities is not None and small.triples is not None
    assert small.users is not None and small.interactions is not None
    item_ids, entity_ids = set(small.items["item_id"]), set(small.entities["entity_id"])
    assert small.items["item_id"].is_unique and small.entities["entity_id"].is_unique
    assert not item_ids & entity_ids
    assert set(small.triples["head"]) | set(small.triples["tail"]) <= item_ids | entity_ids
    assert all(SAFE.match(r) for r in small.triples["relation"].unique())
    assert set(small.entities["type"]) == {"genre", "theme", "author", "publisher", "country"}
    assert {"HAS_GENRE", "WRITTEN_BY", "ABOUT", "PUBLISHED_BY", "PART_OF", "BORN_IN"} <= set(
        small.triples["relation"]
    )
    for frame, fixed in ((small.items, 3), (small.users, 1)):
        for column in frame.columns[fixed:]:
            assert SAFE.match(column) and column not in RESERVED_PROPERTIES
    inter = small.interactions
    assert (
        set(inter["user_id"]) <= set(small.users["user_id"]) and set(inter["item_id"]) <= item_ids
    )
    assert not inter.duplicated(["user_id", "item_id"]).any()
    assert inter.groupby("user_id")["timestamp"].apply(lambda t: t.is_monotonic_increasing).all()
    assert inter["rating"].between(1, 5).all()
    assert set(inter["device"]) == {"mobile", "web", "ereader"}


def test_passes_import_validation(small: Dataset) -> None:
    prepared = validate(small, lambda label, ids: set())
    assert small.interactions is not None
    assert prepared.counts()["interactions"] == len(small.interactions)


def test_long_tail_shape(small: Dataset) -> None:
    assert small.interactions is not None
    counts = (
        small.interactions["item_id"].value_counts().reindex(small.items["item_id"], fill_value=0)
    )
    assert 0.02 <= (counts == 0).mean() <= 0.10  # cold items: in the KG, never read
    assert (counts < counts.mean()).mean() >= 0.5  # most items below the average item
    top_fifth = counts.sort_values(ascending=False).iloc[: len(counts) // 5]
    assert top_fifth.sum() / counts.sum() >= 0.5  # a head takes most of the reading


def test_descriptions_name_the_kg_facts(small: Dataset) -> None:
    assert small.triples is not None and small.entities is not None
    names = small.entities.set_index("entity_id")["name"]
    text = small.items.set_index("item_id")["description"].str.lower()
    for relation in ("HAS_GENRE", "WRITTEN_BY"):
        links = small.triples[small.triples["relation"] == relation]
        mentioned = [
            names[tail].lower() in text[head]
            for head, tail in zip(links["head"], links["tail"], strict=True)
        ]
        assert all(mentioned), relation
    # Each theme's plot phrase (not its name) is in the text: check a theme noun or phrase word.
    about = small.triples[small.triples["relation"] == "ABOUT"]
    phrases = {f"theme:{t.slug}": t.phrases for g in GENRES for t in g.themes}
    found = [
        any(p.lower() in text[head] for p in phrases[tail])
        for head, tail in zip(about["head"], about["tail"], strict=True)
    ]
    assert all(found)


def split_last(interactions: pd.DataFrame, share: float = 0.2) -> tuple[pd.DataFrame, pd.DataFrame]:
    ordered = interactions.sort_values(["user_id", "timestamp"])
    position = ordered.groupby("user_id").cumcount()
    size = ordered.groupby("user_id")["item_id"].transform("size")
    held_out = position >= np.ceil((1 - share) * size)
    return ordered[~held_out], ordered[held_out]


def test_kg_carries_taste_signal(small: Dataset) -> None:
    """Held-out books share genres/themes with the user's history; a KG profile beats popularity."""
    assert small.interactions is not None and small.triples is not None
    train, test = split_last(small.interactions)
    items = small.items["item_id"].to_numpy()
    item_index = pd.Series(np.arange(len(items)), index=items)
    users = pd.Series(np.arange(small.interactions["user_id"].nunique()),
                      index=np.sort(small.interactions["user_id"].unique()))  # fmt: skip
    links = small.triples[small.triples["head"].isin(item_index.index)]
    entities = pd.Index(links["tail"].unique())
    item_entity = np.zeros((len(items), len(entities)))
    item_entity[item_index[links["head"]], entities.get_indexer(links["tail"])] = 1.0
    seen = np.zeros((len(users), len(items)))
    seen[users[train["user_id"]], item_index[train["item_id"]]] = 1.0
    held = np.zeros_like(seen)
    held[users[test["user_id"]], item_index[test["item_id"]]] = 1.0

    # 1. Genre/theme similarity to the history: held-out books vs all unseen books.
    topical = item_entity[:, entities.str.startswith(("genre:", "theme:"))]
    taste = (seen @ topical) / seen.sum(axis=1, keepdims=True)  # share of history per entity
    similarity = taste @ topical.T
    held_similarity = (similarity * held).sum() / held.sum()
    unseen = seen == 0
    unseen_similarity = (similarity * unseen).sum() / unseen.sum()
    assert held_similarity > 2.0 * unseen_similarity

    # 2. Recall@20: most-popular vs the KG profile re-ranking the same popularity.
    popularity = seen.sum(axis=0)
    profile = seen @ item_entity
    profile /= profile.sum(axis=1, keepdims=True)
    kg_score = (profile @ item_entity.T) * np.log1p(popularity)[None, :]

    rng = np.random.default_rng(0)

    def recall_at_20(scores: np.ndarray) -> float:
        scores = np.where(seen > 0, -np.inf, scores + 1e-9 * rng.random(scores.shape))
        top = np.argsort(-scores, axis=1)[:, :20]
        hits = np.take_along_axis(held, top, axis=1).sum(axis=1)
        return float((hits / held.sum(axis=1)).mean())

    most_popular = recall_at_20(np.broadcast_to(popularity, seen.shape).copy())
    assert recall_at_20(kg_score) > 1.1 * most_popular


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_write_and_read_back(tmp_path: Path, fmt: str) -> None:
    written = write_sample(tmp_path, "tiny", seed=3, fmt=fmt)
    assert sorted(p.name for p in written) == sorted(
        f"{t}.{fmt}" for t in ("items", "entities", "triples", "users", "interactions")
    )
    original, loaded = generate_sample("tiny", seed=3), load_dataset(tmp_path)
    for name, frame in original.tables().items():
        pd.testing.assert_frame_equal(loaded.tables()[name], frame)
