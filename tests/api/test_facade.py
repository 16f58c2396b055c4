"""`tailgraph.Tailgraph`: the README's notebook example as written, then each method.

One model is trained for the module, by the README's own code block (the built-in tiny
sample, in memory, no graph server); tests that change a model load the saved run again.
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import torch
from tailgraph.api.facade import COLUMNS, Tailgraph, UnknownIdError, snapshot_of
from tailgraph.api.service.state import load_state
from tailgraph.gnn.config import SettingsError
from tailgraph.kg.sample import generate_sample, write_sample
from tailgraph.kg.settings import GraphSettings
from tailgraph.kg.snapshot import GraphSnapshot

import tailgraph

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_example() -> str:
    """The python code block of the README's section *From Python (a notebook)*."""
    section = README.read_text().split("## From Python (a notebook)", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match is not None, "README: no python block in 'From Python (a notebook)'"
    return match.group(1)


@pytest.fixture(scope="module")
def notebook(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The README example, run verbatim in a fresh directory; its variables."""
    workdir = tmp_path_factory.mktemp("notebook")
    namespace: dict[str, Any] = {"__name__": "__notebook__"}
    previous = Path.cwd()
    torch.set_num_threads(1)
    try:
        os.chdir(workdir)
        exec(compile(readme_example(), "README.md", "exec"), namespace)
    finally:
        os.chdir(previous)
    namespace["workdir"] = workdir
    return namespace


@pytest.fixture
def saved(notebook: dict[str, Any]) -> Path:
    return notebook["workdir"] / "runs" / "notebook"


@pytest.fixture
def fresh(saved: Path) -> Tailgraph:
    """A copy of the README's model to change (the module's one stays as the README left it)."""
    return Tailgraph.load(saved)


@pytest.mark.slow
def test_readme_example_runs_as_written(notebook: dict[str, Any], saved: Path) -> None:
    top = notebook["top"]
    assert isinstance(top, pd.DataFrame)
    assert list(top.columns) == ["user_id", *COLUMNS]
    assert top.groupby("user_id").size().to_dict() == {"u00001": 5, "u00002": 5}
    # The saved directory is a run `tailgraph serve` reads.
    state = load_state(saved)
    assert len(state.users.ids) == 40 and (saved / "added_items.json").is_file()


@pytest.mark.slow
def test_recommend_ranks_with_the_model_and_leaves_seen_items_out(
    notebook: dict[str, Any],
) -> None:
    model: Tailgraph = notebook["model"]
    state = model.state
    user = state.users.index["u00003"]
    seen = {state.catalogue.ids[i] for i in state.seen(user).tolist()}
    top = model.recommend("u00003", k=10)
    assert len(top) == 10 and not seen & set(top["item_id"])
    assert top["rank"].tolist() == list(range(1, 11))
    assert top["score"].is_monotonic_decreasing
    # The score is the model's ⟨p_u, z_i⟩, item by item.
    vector = state.user_vector(user)
    for item, score in zip(top["item_id"], top["score"], strict=True):
        expected = float(state.catalogue.z[state.catalogue.index[item]] @ vector)
        assert math.isclose(score, expected, rel_tol=1e-5, abs_tol=1e-6)
    everything = model.recommend("u00003", k=len(state.catalogue), exclude_seen=False)
    assert seen <= set(everything["item_id"])
    # Tail boost: each score drops by λ · log(1 + training interactions).
    boosted = model.recommend("u00003", k=len(state.catalogue), exclude_seen=False, tail_boost=0.5)
    merged = everything.merge(boosted, on="item_id", suffixes=("", "_boosted"))
    drop = merged["score"] - merged["score_boosted"]
    assert ((drop - 0.5 * merged["interactions"].map(math.log1p)).abs() < 1e-5).all()
    # Filters: only items linked to an entity of the type / to the entity.
    horror = state.catalogue.entity_items["genre:horror"].tolist()
    only = model.recommend("u00003", k=50, entity_id="genre:horror")
    assert set(only["item_id"]) <= {state.catalogue.ids[i] for i in horror}


@pytest.mark.slow
def test_session_and_similar_items(notebook: dict[str, Any]) -> None:
    model: Tailgraph = notebook["model"]
    cat = model.state.catalogue
    horror = sorted(cat.ids[i] for i in cat.entity_items["genre:horror"].tolist())
    session = model.recommend_session(horror[:3], k=10)
    assert list(session.columns) == list(COLUMNS) and len(session) == 10
    assert not set(horror[:3]) & set(session["item_id"])
    assert len(set(session["item_id"]) & set(horror)) >= 4  # horror steers the session
    kept = model.recommend_session(horror[:3], k=len(cat), exclude_seen=False)
    assert set(horror[:3]) <= set(kept["item_id"])
    with_attributes = model.recommend_session(horror[:3], k=10, attributes={"country": "Japan"})
    assert len(with_attributes) == 10
    similar = model.similar_items("b00001", k=5)
    assert "b00001" not in set(similar["item_id"]) and len(similar) == 5
    unit = cat.unit
    cosine = unit @ unit[cat.index["b00001"]]
    cosine[cat.index["b00001"]] = -torch.inf
    assert similar["item_id"].tolist() == [cat.ids[i] for i in torch.topk(cosine, 5).indices]


@pytest.mark.slow
def test_bad_ids_and_options_name_what_is_wrong(notebook: dict[str, Any]) -> None:
    model: Tailgraph = notebook["model"]
    with pytest.raises(UnknownIdError, match="unknown user id 'u99999'"):
        model.recommend(["u00001", "u99999"])
    with pytest.raises(UnknownIdError, match="unknown item id 'nope'"):
        model.recommend_session(["b00001", "nope"])
    with pytest.raises(UnknownIdError, match="unknown item id 'nope'"):
        model.similar_items("nope")
    with pytest.raises(UnknownIdError, match="unknown entity id 'genre:opera'"):
        model.recommend("u00001", entity_id="genre:opera")
    with pytest.raises(ValueError, match="unknown entity type 'planet'"):
        model.recommend("u00001", entity_type="planet")
    with pytest.raises(ValueError, match="k: expected a positive integer; found 0"):
        model.recommend("u00001", k=0)
    with pytest.raises(ValueError, match="tail_boost"):
        model.recommend("u00001", tail_boost=-1.0)
    with pytest.raises(ValueError, match=r"attributes\.shoe_size"):
        model.recommend_session(["b00001"], attributes={"shoe_size": 42})
    empty = model.recommend([], k=3)
    assert empty.empty and list(empty.columns) == ["user_id", *COLUMNS]


@pytest.mark.slow
def test_added_items_are_recommendable_and_bad_rows_add_nothing(fresh: Tailgraph) -> None:
    cat_size = len(fresh.state.catalogue)
    assert "new-1" in fresh.state.catalogue.index  # the README's item, re-embedded by load
    items = pd.DataFrame(
        {"item_id": ["new-2", "new-3"], "title": ["The Attic", "Rails to Lisbon"],
         "description": ["A ghost story in an old attic.", None], "year": [2024, float("nan")]}
    )  # fmt: skip
    triples = pd.DataFrame(
        {"head": ["new-2", "new-3"], "relation": ["HAS_GENRE", "HAS_GENRE"],
         "tail": ["genre:horror", "genre:travel"]}
    )  # fmt: skip
    bad = [
        (items.drop(columns="title"), None, "items: expected a column 'title'"),
        (pd.DataFrame({"item_id": ["b00001"], "title": ["x"]}), None, "item_id 'b00001' already"),
        (pd.concat([items, items]), None, "item_id 'new-2' appears twice"),
        (items, triples.assign(relation="LIKES"), "unknown relation 'LIKES'"),
        (items, triples.assign(tail="genre:opera"), "no entity or trained item 'genre:opera'"),
        (items, triples.assign(head="b00001"), "head 'b00001' is not one of the new items"),
    ]
    for frame, links, message in bad:
        with pytest.raises(ValueError, match=re.escape(message)):
            fresh.add_items(frame, links)
        assert len(fresh.state.catalogue) == cat_size  # nothing partial
    assert fresh.add_items(items, triples) == ["new-2", "new-3"]
    cat = fresh.state.catalogue
    assert len(cat) == cat_size + 2 and cat.bucket[cat.index["new-2"]] == "cold"
    everything = fresh.recommend("u00001", k=len(cat))
    assert {"new-2", "new-3"} <= set(everything["item_id"])
    near = fresh.similar_items("new-2", k=10)
    horror = {cat.ids[i] for i in cat.entity_items["genre:horror"].tolist()}
    assert len(set(near["item_id"]) & horror) >= 5


@pytest.mark.slow
def test_save_and_load_give_identical_recommendations(
    notebook: dict[str, Any], tmp_path: Path
) -> None:
    model: Tailgraph = notebook["model"]
    again = Tailgraph.load(model.save(tmp_path / "copy"))
    users = model.users
    pd.testing.assert_frame_equal(again.recommend(users, k=7), model.recommend(users, k=7))
    for item in ("b00001", "new-1"):
        pd.testing.assert_frame_equal(again.similar_items(item), model.similar_items(item))
    pd.testing.assert_frame_equal(
        again.recommend_session(["new-1", "b00002"]), model.recommend_session(["new-1", "b00002"])
    )
    with pytest.raises(ValueError, match="the run being served"):
        again.save(tmp_path / "copy")


@pytest.mark.slow
def test_evaluate_reports_the_runs_metrics(notebook: dict[str, Any]) -> None:
    table = notebook["model"].evaluate()
    assert list(table.index) == ["tailgraph"]
    assert 0 < table.loc["tailgraph", "overall ndcg@20"] <= 1
    assert {"tail recall@20", "cold recall@20", "hybrid ndcg@20"} <= set(table.columns)


def test_fit_refuses_bad_settings_and_sources_before_training() -> None:
    dataset = generate_sample("tiny")
    with pytest.raises(SettingsError, match=r"train\.epochs"):
        Tailgraph.fit(dataset, train={"epochs": "many"})
    with pytest.raises(SettingsError, match=r"tailgraph\.colour: unknown setting"):
        Tailgraph.fit(dataset, tailgraph={"colour": "red"})
    with pytest.raises(ValueError, match="tailgraph train --compare"):
        Tailgraph.fit(dataset, models="lightgcn")
    with pytest.raises(TypeError, match="found int"):
        Tailgraph.fit(42)  # type: ignore[arg-type]
    with pytest.raises(FileNotFoundError, match="expected a dataset directory"):
        Tailgraph.fit("/nonexistent/dataset")


def test_every_source_gives_the_same_snapshot(tmp_path: Path, api_graph: GraphSettings) -> None:
    """A Dataset in memory, a dataset directory, a snapshot directory and a graph (the
    session's embedded server, holding the same sample) train on the same tables."""
    expected = snapshot_of(generate_sample("tiny"))
    write_sample(tmp_path / "data", size="tiny")
    expected.save(tmp_path / "snapshot")
    for source in (tmp_path / "data", str(tmp_path / "snapshot"), api_graph):
        got = snapshot_of(source)
        assert isinstance(got, GraphSnapshot)
        for table in ("items", "users", "entities", "interactions", "kg_edges"):
            left, right = getattr(got, table), getattr(expected, table)
            assert left.shape == right.shape, (source, table)
            assert (
                left["id" if "id" in left else left.columns[0]].tolist()
                == right["id" if "id" in right else right.columns[0]].tolist()
            ), (source, table)


def test_import_tailgraph_stays_light() -> None:
    code = "import sys, tailgraph; print('torch' in sys.modules, 'pandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
    assert tailgraph.Tailgraph is Tailgraph
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        _ = tailgraph.nothing  # type: ignore[attr-defined]
