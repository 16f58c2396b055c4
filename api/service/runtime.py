"""The app's long-lived parts: the served state reference, graph, encoders, the live log.

Reads take `runtime.state` once per request (a dependency) and use that object to the
end, so a reload never changes the run under a request's feet. Writes (a recorded
interaction, an added item) are serialised by one lock and always land on the
*current* state; each is also appended, numbered, to a bounded live log. A reload builds
the new state completely outside that lock — requests and writes keep going against the
old one — and replays the live log onto it (what a freshly trained run does not know yet)
outside the lock too, in rounds: each round replays what was recorded during the one
before. Only the last few events and the swap of the reference happen under the lock, so
no write waits longer than that (replaying 1,085 interactions and 493 items under the
lock used to hold writes for 20–44 s).
"""

from __future__ import annotations

import bisect
import contextlib
import gc
import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from tailgraph.api.service.encoding import EncoderBox
from tailgraph.api.service.errors import ApiError, conflict, invalid, not_found
from tailgraph.api.service.graph import GraphGateway
from tailgraph.api.service.observability import Metrics
from tailgraph.api.service.settings import ServiceSettings
from tailgraph.api.service.state import NewItem, RunLoadError, ServingState, load_state
from tailgraph.encoders import TextEncoder
from tailgraph.kg.validate import interaction_key

log = logging.getLogger("tailgraph.api.runtime")


@dataclass(frozen=True)
class InteractionEvent:
    user_id: str
    item_id: str


@dataclass(frozen=True)
class ReloadReport:
    state: ServingState
    seconds: float
    replayed_interactions: int
    replayed_items: int
    skipped: int
    locked_seconds: float  # the final replay + swap under the write lock: what writes waited


# Replay rounds outside the write lock before the last one under it; rounds stop early once
# what is left is this small (a handful of writes replay in well under a millisecond).
CATCH_UP_ROUNDS = 5
LAST_ROUND = 32


def freeze_heap() -> None:
    """Move every object alive now out of the cyclic GC's reach (`gc.freeze`).

    A loaded run is ~0.5 M long-lived Python objects (id maps, titles, JSON fragments);
    each full collection walked them all: 0.57 s with the event loop stopped, measured as
    a 0.67 s stall of every in-flight request at concurrency 64 on Last.fm. Frozen, the
    collector only looks at what requests allocate. Reference counting still frees
    frozen objects that are not in cycles.
    """
    gc.collect()
    gc.freeze()


class Runtime:
    def __init__(
        self,
        settings: ServiceSettings,
        encoder: TextEncoder | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.settings = settings
        graph_settings = settings.graph.model_copy(
            update={"query_timeout_s": settings.graph_timeout_s}
        )
        self.graph = GraphGateway(graph_settings)
        self.encoders = EncoderBox(encoder)
        self.metrics = metrics or Metrics()
        self._state: ServingState | None = None
        self._write_lock = threading.Lock()
        self._reload_lock = threading.Lock()
        # (number, event): numbers grow by one per write, so a reload can ask what came since.
        self._events: deque[tuple[int, InteractionEvent | NewItem]] = deque(
            maxlen=settings.max_live_events
        )
        self._recorded = 0

    # ---- state ------------------------------------------------------------------------------
    @property
    def state(self) -> ServingState:
        state = self._state
        if state is None:
            raise ApiError(503, [(["run"], "no run is loaded yet")], "not_ready")
        return state

    @property
    def loaded(self) -> bool:
        return self._state is not None

    def start(self) -> None:
        state = self._build(self.settings.run_dir)
        self._state = state
        freeze_heap()
        log.info("run loaded", extra={"fields": state.describe()})

    def _build(self, run_dir: Path) -> ServingState:
        state = load_state(run_dir)
        encoder = self.encoders.get(state.text_model)
        text_dim = int(state.data.item_text.shape[1])
        if encoder.dim != text_dim:
            raise RunLoadError(
                f"{run_dir}: the run's text embeddings have {text_dim} dimensions, the text "
                f"model {state.text_model!r} gives {encoder.dim}"
            )
        if self.settings.load_encoder:
            self.encoders.load(state.text_model)
        return state

    def runs_dir(self) -> Path:
        """The folder reloads may load from: `runs_dir`, default the served run's parent."""
        return Path(self.settings.runs_dir or Path(self.settings.run_dir).parent).resolve()

    def _reload_target(self, run_dir: str | Path | None) -> Path:
        """The run directory a reload asked for, which must lie inside the runs folder
        (symlinks resolved): an admin endpoint must not open whatever path a client names."""
        if run_dir is None:
            return self.state.run_dir
        runs = self.runs_dir()
        try:
            target = (runs / run_dir).resolve()  # an absolute run_dir replaces `runs`
        except (OSError, ValueError, RuntimeError) as exc:  # too long, NUL, symlink loop
            raise RunLoadError(f"cannot resolve run_dir: {exc}") from exc
        if target == runs or not target.is_relative_to(runs):
            raise RunLoadError(
                "expected a run directory inside the runs folder (TAILGRAPH_API_RUNS_DIR), "
                "by name or by path; found a path outside it"
            )
        return target

    def reload(self, run_dir: str | Path | None) -> ReloadReport:
        if not self._reload_lock.acquire(blocking=False):
            raise conflict(["run_dir"], "a reload is already running; try again when it ends")
        started = time.perf_counter()
        try:
            try:
                new = self._build(self._reload_target(run_dir))
            except RunLoadError as exc:
                self.metrics.reloads.labels("refused").inc()
                raise invalid([(["body", "run_dir"], str(exc))]) from exc
            # Catch up outside the lock: writes go on against the old state meanwhile, and
            # each round replays what they recorded during the previous one.
            counts = [0, 0, 0]
            done = 0
            for _ in range(CATCH_UP_ROUNDS):
                pending = self._events_since(done)
                if len(pending) <= LAST_ROUND:
                    break
                counts = [a + b for a, b in zip(counts, self._replay(new, pending), strict=True)]
                done = pending[-1][0]
            with self._write_lock:
                locked = time.perf_counter()
                last = self._replay(new, self._events_after(done))
                self._state = new
                locked_seconds = time.perf_counter() - locked
            replayed, items, skipped = (a + b for a, b in zip(counts, last, strict=True))
            # The old state goes when the last request holding it ends (reference counting:
            # a loaded state has no reference cycles, measured). A full collection here
            # would stop every thread for as long as the heap is big (0.57 s on Last.fm);
            # the young generations are enough before freezing the new state's objects.
            gc.collect(1)
            gc.freeze()
            self.metrics.reloads.labels("ok").inc()
            report = ReloadReport(
                new,
                round(time.perf_counter() - started, 3),
                replayed,
                items,
                skipped,
                round(locked_seconds, 6),
            )
            log.info(
                "run reloaded",
                extra={
                    "fields": {
                        **new.describe(),
                        "seconds": report.seconds,
                        "locked_seconds": report.locked_seconds,
                        "replayed_interactions": replayed,
                        "replayed_items": items,
                        "skipped": skipped,
                    }
                },
            )
            return report
        finally:
            self._reload_lock.release()

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """The write lock, for a write; how long it waited goes to the metrics."""
        asked = time.perf_counter()
        with self._write_lock:
            self.metrics.write_lock_wait.observe(time.perf_counter() - asked)
            yield

    def _events_since(self, number: int) -> list[tuple[int, InteractionEvent | NewItem]]:
        """Live events numbered after `number`, oldest first, without the write lock.

        `list(deque)` copies in one C call that no other thread interleaves with (the GIL is
        held throughout; the items are plain tuples), so a concurrent append is either in
        the copy or not, never half in it.
        """
        events = list(self._events)
        return events[bisect.bisect_right(events, number, key=lambda event: event[0]) :]

    def _events_after(self, number: int) -> list[tuple[int, InteractionEvent | NewItem]]:
        """Live events numbered after `number`, oldest first, reading only those (the last
        round, under the write lock). Callers hold the write lock."""
        newer = self._recorded - number
        if newer <= 0:
            return []
        tail = list(itertools.islice(reversed(self._events), newer))
        tail.reverse()
        return tail

    def _record_event(self, event: InteractionEvent | NewItem) -> None:
        """Append to the live log. Callers hold the write lock."""
        self._recorded += 1
        self._events.append((self._recorded, event))

    def _replay(
        self, state: ServingState, events: list[tuple[int, InteractionEvent | NewItem]]
    ) -> tuple[int, int, int]:
        """Apply live events to a freshly loaded state: items first, then interactions
        (an interaction always comes after the item it names, so within one call is enough).
        Returns (interactions replayed, items replayed, events skipped)."""
        skipped = 0
        items = [e for _, e in events if isinstance(e, NewItem)]
        fresh = [item for item in items if item.id not in state.catalogue.index]
        embeddable = []
        links = []
        for item in fresh:
            resolved, problems = state.resolve_links(item.links)
            if problems:
                skipped += 1
                continue
            embeddable.append(item)
            links.append(resolved)
        if embeddable:
            texts = [state.item_text(item) for item in embeddable]
            vectors = self.encoders.encode(state.text_model, texts)
            state.add_items(embeddable, state.embed(vectors, links), vectors)
        replayed = 0
        for _, event in events:
            if not isinstance(event, InteractionEvent):
                continue
            user = state.users.index.get(event.user_id)
            item = state.catalogue.index.get(event.item_id)
            if user is None or item is None:
                skipped += 1
                continue
            if state.knows_interaction(user, item):
                continue  # the new run was trained with it already
            state.record(user, item)
            replayed += 1
        return replayed, len(embeddable), skipped

    # ---- writes -----------------------------------------------------------------------------
    def record_interaction(
        self,
        user_id: str,
        item_id: str,
        ts: float | None,
        weight: float | None,
        rating: float | None,
        kind: str | None,
        context: dict[str, Any],
    ) -> tuple[str, float, list[str]]:
        """Write to the graph (MERGE), then move the item to the front of the user's history."""
        state = self.state
        if user_id not in state.users.index:
            raise not_found(["path", "user_id"], f"no user {user_id!r} in the served run")
        if item_id not in state.catalogue.index:
            raise not_found(["body", "item_id"], f"no item {item_id!r} in the served run")
        ts = time.time() if ts is None else ts
        key = interaction_key(user_id, item_id, ts, kind)
        row = {
            "user_id": user_id,
            "item_id": item_id,
            "key": key,
            "ts": ts,
            "weight": weight,
            "rating": rating,
            "kind": kind,
            "ctx": context,
        }
        written = self.graph.run("record_interactions", {"rows": [row]})
        if not written:
            raise conflict(
                ["path", "user_id"],
                f"user {user_id!r} or item {item_id!r} is in the run but not in the graph",
            )
        with self._writing():
            current = self.state  # a reload may have swapped it while the graph wrote
            user = current.users.index.get(user_id)
            item = current.catalogue.index.get(item_id)
            if user is None or item is None:
                raise not_found(["body", "item_id"], "the run reloaded without this user/item")
            history = current.record(user, item)
            self._record_event(InteractionEvent(user_id, item_id))
        self.metrics.interactions.inc()
        ids = current.catalogue.ids
        return key, ts, [ids[i] for i in history.tolist() if i >= 0]

    def add_item(self, item: NewItem) -> ServingState:
        """Embed (no retraining), write to the graph, then make it recommendable."""
        state = self.state
        if item.id in state.catalogue.index:
            raise conflict(["body", "id"], f"item {item.id!r} already exists")
        resolved, problems = state.resolve_links(item.links)
        if problems:
            unknown = [p for p in problems if p[1] == "target" and "no entity" in p[2]]
            located = [(["body", "links", k, name], msg) for k, name, msg in problems]
            if unknown and len(unknown) == len(problems):
                raise ApiError(404, located, "not_found")
            raise invalid(located)
        if state.model.content is None:
            raise invalid(
                [(["body"], "the served model has no content tower; it cannot embed new items")]
            )
        text = self.encoders.encode(state.text_model, [state.item_text(item)])
        z = state.embed(text, [resolved])
        self._write_item_to_graph(state, item)
        with self._writing():
            current = self.state
            if current is not state:  # reloaded meanwhile: embed with the model now served
                resolved, problems = current.resolve_links(item.links)
                if problems:
                    raise invalid([(["body", "links"], "the reloaded run cannot take these links")])
                text = self.encoders.encode(current.text_model, [current.item_text(item)])
                z = current.embed(text, [resolved])
            if item.id in current.catalogue.index:
                raise conflict(["body", "id"], f"item {item.id!r} already exists")
            current.add_items([item], z, text)
            self._record_event(item)
        self.metrics.items_added.inc()
        return current

    def _write_item_to_graph(self, state: ServingState, item: NewItem) -> None:
        """The item node and all its links in one statement, so one transaction: a failure
        (graph stopped, disk full) writes nothing and the client's retry starts clean.

        An item the graph already holds is a conflict (409) — unless it is this very item
        (same properties, same links): an earlier attempt whose answer was lost wrote it,
        and the retry takes it as written rather than refusing it forever.
        """
        props: dict[str, Any] = {"id": item.id, "title": item.title, **dict(item.attributes)}
        if item.description is not None:
            props["description"] = item.description
        stored = self.graph.run("item_content", {"id": item.id})
        if stored:
            same = stored[0]["props"] == props and {
                (str(relation), str(target)) for relation, target in stored[0]["links"]
            } == set(item.links)
            if not same:
                raise conflict(["body", "id"], f"item {item.id!r} already exists in the graph")
            return
        groups: dict[tuple[str, str], list[str]] = {}
        for relation, target in item.links:
            label = "Entity" if target in state.kg.entity_index else "Item"
            groups.setdefault((relation, label), []).append(target)
        params: dict[str, Any] = {
            "item": {
                "id": item.id,
                "title": item.title,
                "description": item.description,
                "attrs": dict(item.attributes),
            },
            **{f"links_{k}": targets for k, targets in enumerate(groups.values())},
        }
        identifiers = [{"relation": relation, "tail": label} for relation, label in groups]
        self.graph.run_repeated("add_item", params, identifiers)

    # ---- reads that need the graph -------------------------------------------------------------
    def recent_items(self, user_id: str, limit: int) -> list[str]:
        rows = self.graph.run("user_recent_items", {"user_id": user_id, "limit": limit})
        return [str(row["item_id"]) for row in rows]

    def explain_rows(self, history: list[str], item_id: str) -> list[dict[str, Any]]:
        params = {"ids": history, "item_id": item_id, "limit": self.settings.explain_paths}
        return self.graph.run("explain_paths", params)

    def query_vector(self, state: ServingState, text: str) -> torch.Tensor:
        return self.encoders.query(state.text_model, text)

    def close(self) -> None:
        self.graph.close()
