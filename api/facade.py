"""`tailgraph.Tailgraph`: fit, recommend, save and load from Python — no server needed.

A `Tailgraph` is a served run in memory: `fit` trains the product model as
`gnn.production.train_for_serving` does (a selection run on the held-out split picks the
epochs and tuned values and gives the metrics, then a refit on every interaction), writes
the run directory `tailgraph serve` reads, and loads it into the same `ServingState` the
HTTP API answers from. So every answer here — known users, sessions, similar items, items
added later — comes from the model's one formula (`TailgraphModel.user_vector`,
`recommend`) and the API's id maps, masks and popularity buckets, and a saved run serves
over HTTP unchanged.

Answers are `pandas.DataFrame`s with external ids: one row per recommended item, best
first, with `rank`, `item_id`, `title`, `score`, `popularity` (head / mid / tail by
training interactions, `cold` for items without any) and `interactions`.
"""

from __future__ import annotations

import json
import math
import shutil
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from tailgraph.api.service.state import NewItem, ServingState, load_state
from tailgraph.encoders import TextEncoder
from tailgraph.kg.dataset import Dataset
from tailgraph.kg.settings import GraphSettings
from tailgraph.kg.snapshot import GraphSnapshot

from tailgraph.atomic import atomic_dir

ADDED_ITEMS = "added_items.json"  # items added after training, re-embedded by `load`
COLUMNS = ("rank", "item_id", "title", "score", "popularity", "interactions")


class UnknownIdError(KeyError):
    """An id the run does not know (a user, an item, an entity); the message names it."""

    def __str__(self) -> str:  # KeyError's own str() quotes the message
        return str(self.args[0])


class Tailgraph:
    """A trained Tailgraph model with its catalogue, users and id maps."""

    def __init__(
        self,
        state: ServingState,
        encoder: TextEncoder | None = None,
        workdir: tempfile.TemporaryDirectory[str] | None = None,
    ) -> None:
        self.state = state
        self._encoder = encoder
        self._workdir = workdir  # the fitted run's directory lives as long as this object

    # ---- building ----------------------------------------------------------------------------
    @classmethod
    def fit(
        cls,
        source: Dataset | GraphSnapshot | GraphSettings | str | Path,
        *,
        name: str = "dataset",
        encoder: TextEncoder | None = None,
        cache_dir: Path | None = None,
        verbose: bool = False,
        **config: Any,
    ) -> Tailgraph:
        """Train on `source`: a canonical `Dataset` in memory, a dataset directory, a graph
        (a URI `neo4j://…` / `bolt://…`, or `GraphSettings`), or a `GraphSnapshot`.

        `config`: harness settings, nested or dotted as `--set` takes them, e.g.
        `seed=1, train={"epochs": 20}, tailgraph={"dim": 32}`; validated by pydantic
        (`SettingsError` names a wrong one). `encoder`: the text encoder (default: the
        bundled MiniLM); `cache_dir`: an embedding cache directory.
        """
        from tailgraph.gnn.config import harness_config
        from tailgraph.gnn.features import text_features
        from tailgraph.gnn.production import train_for_serving
        from tailgraph.gnn.run_dir import write_run

        if "models" in config:
            raise ValueError(
                "models: fit trains the Tailgraph model; compare it with baselines by "
                "`tailgraph train --compare`"
            )
        harness = harness_config(config)
        snapshot = snapshot_of(source)
        encoder = encoder or TextEncoder()

        def features(variant: str) -> Any:
            return text_features(snapshot, variant, encoder, cache_dir)

        result = train_for_serving(snapshot, harness, name, features, verbose=verbose)
        assert result.model is not None
        workdir = tempfile.TemporaryDirectory(prefix="tailgraph-run-")
        run_dir = Path(workdir.name) / "run"
        write_run(
            run_dir,
            snapshot,
            result.model,
            result.data,
            result.metrics,
            {"harness": harness.as_dict(), "dataset": name},
        )
        return cls(load_state(run_dir), encoder, workdir)

    @classmethod
    def load(cls, run_dir: str | Path, *, encoder: TextEncoder | None = None) -> Tailgraph:
        """A run directory written by `save`, `tailgraph train` or `fit` (raises
        `RunLoadError` naming what is missing); items added before `save` come back."""
        run_dir = Path(run_dir)
        model = cls(load_state(run_dir), encoder)
        added = run_dir / ADDED_ITEMS
        if added.is_file():
            records = json.loads(added.read_text())
            model._add(
                [
                    NewItem(
                        r["id"],
                        r["title"],
                        r["description"],
                        r["attributes"],
                        tuple((rel, target) for rel, target in r["links"]),
                    )
                    for r in records
                ]
            )
        return model

    def save(self, out_dir: str | Path) -> Path:
        """Write the run directory (atomically: a temporary sibling, then a rename). It
        serves with `tailgraph serve OUT_DIR`; items added with `add_items` are kept in
        `added_items.json`, which `Tailgraph.load` re-embeds (the HTTP service starts from
        the trained catalogue: there, the graph is the record of added items)."""
        out = Path(out_dir)
        source = self.state.run_dir
        if out.resolve() == source.resolve():
            raise ValueError(f"{out}: this is the run being served; save to another directory")
        with atomic_dir(out) as tmp:
            for path in source.iterdir():
                if path.is_file() and path.name != ADDED_ITEMS:
                    shutil.copy2(path, tmp / path.name)
            added = list(self.state.catalogue.added.values())
            if added:
                records = [
                    {
                        "id": i.id,
                        "title": i.title,
                        "description": i.description,
                        "attributes": dict(i.attributes),
                        "links": [list(link) for link in i.links],
                    }
                    for i in added
                ]
                (tmp / ADDED_ITEMS).write_text(json.dumps(records, indent=2, default=str))
        return out

    # ---- facts -------------------------------------------------------------------------------
    @property
    def users(self) -> list[str]:
        return list(self.state.users.ids)

    @property
    def items(self) -> pd.DataFrame:
        """Every recommendable item: id, title, popularity bucket, training interactions."""
        cat = self.state.catalogue
        return pd.DataFrame(
            {
                "item_id": cat.ids,
                "title": cat.titles,
                "popularity": cat.bucket,
                "interactions": cat.count,
            }
        )

    def __repr__(self) -> str:
        facts = self.state.describe()
        return (
            f"Tailgraph({facts['users']} users, {facts['items']} items, "
            f"{facts['entities']} entities, run {facts['run_dir']})"
        )

    # ---- recommendations ---------------------------------------------------------------------
    def recommend(
        self,
        user_ids: str | Iterable[str],
        k: int = 10,
        exclude_seen: bool = True,
        entity_id: str | None = None,
        entity_type: str | None = None,
        tail_boost: float = 0.0,
    ) -> pd.DataFrame:
        """Top-k for known users, one block of rows per user (column `user_id` first).

        exclude_seen: leave out what the user interacted with (training and held-out);
        entity_id / entity_type: only items linked to that entity / to an entity of that
        type; tail_boost λ ≥ 0 lowers each score by λ·log(1 + interactions).
        """
        ids = [user_ids] if isinstance(user_ids, str) else list(user_ids)
        state = self.state
        _check(k, tail_boost)
        users = [self._index(state.users.index, user, "user") for user in ids]
        mask = self._filter(entity_id, entity_type)
        vectors = (
            torch.stack([state.user_vector(u) for u in users])
            if users
            else torch.zeros(0, state.dim)
        )
        exclude = [state.seen(u) for u in users] if exclude_seen else None
        ranked = state.catalogue.recommend(vectors, k, exclude, mask, tail_boost) if users else []
        frames = [
            self._frame(v, i).assign(user_id=u) for u, (v, i) in zip(ids, ranked, strict=True)
        ]
        return _concat(frames, ("user_id", *COLUMNS))

    def recommend_session(
        self,
        item_ids: Sequence[str],
        k: int = 10,
        exclude_seen: bool = True,
        attributes: Mapping[str, Any] | None = None,
        entity_id: str | None = None,
        entity_type: str | None = None,
        tail_boost: float = 0.0,
    ) -> pd.DataFrame:
        """Top-k for a visitor the model does not know, from the session's items (most
        recent first) and optional user attributes (`POST /recommendations`'s formula)."""
        state, catalogue = self.state, self.state.catalogue
        _check(k, tail_boost)
        if isinstance(item_ids, str):
            item_ids = [item_ids]
        if not item_ids and not attributes:
            raise ValueError("recommend_session: expected item_ids or attributes")
        session = torch.tensor(
            [self._index(catalogue.index, item, "item") for item in item_ids], dtype=torch.long
        )
        codes = None
        if attributes:
            if state.attributes is None:
                raise ValueError("attributes: the model uses no user attributes")
            codes, problems = state.attributes.encode(attributes)
            if problems:
                raise ValueError("; ".join(f"attributes.{name}: {msg}" for name, msg in problems))
        mask = self._filter(entity_id, entity_type)
        vector, relevance = state.visitor_vector(session, None, codes)
        exclude = [session] if exclude_seen and len(session) else None
        [(values, indices)] = catalogue.recommend(vector, k, exclude, mask, tail_boost, relevance)
        return self._frame(values, indices)

    def similar_items(
        self,
        item_id: str,
        k: int = 10,
        entity_id: str | None = None,
        entity_type: str | None = None,
    ) -> pd.DataFrame:
        """The k items closest to `item_id` (cosine of the fused item vectors)."""
        _check(k, 0.0)
        catalogue = self.state.catalogue
        index = self._index(catalogue.index, item_id, "item")
        values, indices = catalogue.similar(index, k, self._filter(entity_id, entity_type))
        return self._frame(values, indices)

    # ---- new items ---------------------------------------------------------------------------
    def add_items(self, items: pd.DataFrame, triples: pd.DataFrame | None = None) -> list[str]:
        """Make new items recommendable at once, without retraining (inductive embedding).

        items: the canonical `items` columns — `item_id`, `title`, optional `description`
        and attribute columns; triples: `head` (a new item's id), `relation` (a relation
        of the trained KG), `tail` (an entity id or a trained item's id). Each item's text
        (the training template) is encoded and propagated over its KG links. Nothing is
        added when any row is wrong; the error names the row and field. Returns the ids.
        """
        new = self._new_items(items, triples)
        self._add(new)
        return [item.id for item in new]

    def _new_items(self, items: pd.DataFrame, triples: pd.DataFrame | None) -> list[NewItem]:
        for column in ("item_id", "title"):
            if column not in items.columns:
                raise ValueError(
                    f"items: expected a column {column!r}; found {list(items.columns)}"
                )
        ids = items["item_id"].astype(str).tolist()
        known = self.state.catalogue.index
        seen: set[str] = set()
        for row, item in enumerate(ids):
            if item in known:
                raise ValueError(f"items row {row}: item_id {item!r} already exists")
            if item in seen:
                raise ValueError(f"items row {row}: item_id {item!r} appears twice")
            seen.add(item)
        links: dict[str, list[tuple[str, str]]] = {item: [] for item in ids}
        if triples is not None and len(triples):
            for column in ("head", "relation", "tail"):
                if column not in triples.columns:
                    raise ValueError(
                        f"triples: expected a column {column!r}; found {list(triples.columns)}"
                    )
            for row, (head, relation, tail) in enumerate(
                triples[["head", "relation", "tail"]].astype(str).itertuples(index=False)
            ):
                if head not in links:
                    raise ValueError(
                        f"triples row {row}: head {head!r} is not one of the new items"
                    )
                links[head].append((relation, tail))
        attribute_columns = [
            c for c in items.columns if c not in ("item_id", "title", "description")
        ]
        new = []
        for row, record in enumerate(items.to_dict("records")):
            item = ids[row]
            _, problems = self.state.resolve_links(links[item])
            if problems:
                k, field, message = problems[0]
                raise ValueError(f"triples for item {item!r}, link {k} ({field}): {message}")
            description = record.get("description")
            new.append(
                NewItem(
                    id=item,
                    title=str(record["title"]),
                    description=None if _missing(description) else str(description),
                    attributes={c: record[c] for c in attribute_columns if not _missing(record[c])},
                    links=tuple(links[item]),
                )
            )
        return new

    def _add(self, new: list[NewItem]) -> None:
        state = self.state
        if not new:
            return
        if state.model.content is None:
            raise ValueError("this model has no content tower; it cannot embed new items")
        resolved = [state.resolve_links(item.links)[0] for item in new]
        with torch.no_grad():
            text = self.encoder.encode([state.item_text(item) for item in new], show_progress=False)
            state.add_items(new, state.embed(text, resolved), text)

    @property
    def encoder(self) -> TextEncoder:
        """The run's text encoder (loaded on first use: adding items needs it)."""
        if self._encoder is None:
            model = self.state.text_model
            self._encoder = TextEncoder(model=model) if model else TextEncoder()
        return self._encoder

    # ---- evaluation --------------------------------------------------------------------------
    def evaluate(self) -> pd.DataFrame:
        """The run's metrics, one row per model: measured on the held-out split by the
        selection run (a fitted model is then refit on every interaction, so it has no
        held-out set of its own), and re-measured here when the run still holds its split
        (a `tailgraph train` run)."""
        from tailgraph.gnn.harness import evaluate_model
        from tailgraph.gnn.report import COLUMNS as METRICS
        from tailgraph.gnn.report import metric_value

        stored = json.loads((self.state.run_dir / "metrics.json").read_text())
        models: dict[str, Any] = dict(stored.get("models", {}))
        test = self.state.data.relevant.get("test")
        if "tailgraph" in models and test is not None and int(test[0][-1]) > 0:
            models["tailgraph"] = {**models["tailgraph"], **evaluate_model(self.state.model)}
        rows = {
            name: {f"{group} {metric}": metric_value(m, group, metric) for group, metric in METRICS}
            for name, m in models.items()
        }
        return pd.DataFrame.from_dict(rows, orient="index")

    # ---- helpers -----------------------------------------------------------------------------
    def _index(self, index: Mapping[str, int], key: str, kind: str) -> int:
        position = index.get(str(key))
        if position is None:
            raise UnknownIdError(f"unknown {kind} id {key!r}: not in this run")
        return position

    def _filter(self, entity_id: str | None, entity_type: str | None) -> torch.Tensor | None:
        state = self.state
        if entity_id is not None and entity_id not in state.kg.entity_index:
            raise UnknownIdError(f"unknown entity id {entity_id!r}: not in this run's KG")
        if entity_type is not None and entity_type not in state.catalogue.type_mask:
            known = sorted(t for t in state.catalogue.type_mask if t)
            raise ValueError(f"unknown entity type {entity_type!r}; expected one of {known}")
        return state.candidates(entity_id, entity_type)

    def _frame(self, values: torch.Tensor, indices: torch.Tensor) -> pd.DataFrame:
        cat = self.state.catalogue
        rows = indices.tolist()
        return pd.DataFrame(
            {
                "rank": range(1, len(rows) + 1),
                "item_id": [cat.ids[i] for i in rows],
                "title": [cat.titles[i] for i in rows],
                "score": values.tolist(),
                "popularity": [cat.bucket[i] for i in rows],
                "interactions": [cat.count[i] for i in rows],
            },
            columns=list(COLUMNS),
        )


def snapshot_of(source: Dataset | GraphSnapshot | GraphSettings | str | Path) -> GraphSnapshot:
    """The training snapshot of any source `Tailgraph.fit` takes."""
    if isinstance(source, GraphSnapshot):
        return source
    if isinstance(source, Dataset):
        return GraphSnapshot.from_dataset(source)
    if isinstance(source, str) and "://" in source:
        source = GraphSettings(graph_uri=source)
    if isinstance(source, GraphSettings):
        from tailgraph.kg.snapshot import take_snapshot
        from tailgraph.kg.store import open_store

        with open_store(source) as store:
            return take_snapshot(store)
    if isinstance(source, str | Path):
        path = Path(source)
        if not path.is_dir():
            raise FileNotFoundError(f"{path}: expected a dataset directory or a graph URI")
        if (path / "meta.json").is_file() and (path / "kg_edges.parquet").is_file():
            return GraphSnapshot.load(path)  # a snapshot written by `tailgraph snapshot`
        from tailgraph.kg.adapters import load_dataset

        return GraphSnapshot.from_dataset(load_dataset(path))
    raise TypeError(
        "fit: expected a Dataset, a dataset directory, a graph URI, GraphSettings or a "
        f"GraphSnapshot; found {type(source).__name__}"
    )


def _check(k: int, tail_boost: float) -> None:
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k: expected a positive integer; found {k!r}")
    if not math.isfinite(tail_boost) or tail_boost < 0:
        raise ValueError(f"tail_boost: expected a finite number ≥ 0; found {tail_boost!r}")


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _concat(frames: list[pd.DataFrame], columns: Sequence[str]) -> pd.DataFrame:
    if not frames:
        return pd.DataFrame(columns=list(columns))
    return pd.concat(frames, ignore_index=True)[list(columns)]
