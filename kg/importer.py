"""Import a canonical `Dataset` into the graph: validate all, then batched UNWIND writes.

Order: schema (constraints/indexes) → entities → items → users → KG triples
(one statement per head label/relation/tail label) → interactions.

- Validation runs before the first write (`kg.validate`): bad input writes nothing.
- Every statement MERGEs on ids (interactions on their key), so importing the
  same data twice gives the same counts, and a second dataset adds to the graph.
- Resumable: after each batch, a journal under `<home>/imports/<fingerprint>.json`
  records how many *rows* of each phase are written (rows, not batches: a resume may use
  another `--batch-size`, and a batch count of one size skips the wrong rows in another).
  A re-run of the same data after a crash (even SIGKILL) skips those rows and finishes
  with exact counts; since the writes are idempotent, a batch replayed after a crash
  mid-batch is harmless. A journal in an older format is ignored (the import starts over:
  idempotent, so still exact). The journal is removed when the import completes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tailgraph.kg.dataset import Dataset
from tailgraph.kg.store import GraphStore
from tailgraph.kg.validate import PreparedImport, validate

from tailgraph.atomic import atomic_write_text

ProgressHook = Callable[[str, int, int], None]
"""(phase label, rows just written, rows in phase) -> None"""


@dataclass
class ImportSummary:
    rows: dict[str, int]
    seconds: float
    resumed_rows: int
    graph_counts: dict[str, int]


def known_in_graph(store: GraphStore) -> Callable[[str, list[str]], set[str]]:
    statements = {"Item": "existing_items", "Entity": "existing_entities", "User": "existing_users"}

    def lookup(label: str, ids: list[str]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(ids), 10_000):
            rows = store.run_named(statements[label], {"ids": ids[start : start + 10_000]})
            found.update(row["id"] for row in rows)
        return found

    return lookup


class _Journal:
    """Rows written per phase, `{"version": 2, "rows": {phase: n}}`, replaced atomically."""

    VERSION = 2

    def __init__(self, path: Path) -> None:
        self.path = path
        self.done: dict[str, int] = {}
        try:
            saved = json.loads(path.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return
        if isinstance(saved, dict) and saved.get("version") == self.VERSION:
            rows = saved.get("rows", {})
            self.done = {k: v for k, v in rows.items() if isinstance(v, int) and v >= 0}

    def rows_done(self, phase: str) -> int:
        return self.done.get(phase, 0)

    def mark(self, phase: str, rows: int) -> None:
        self.done[phase] = rows
        atomic_write_text(self.path, json.dumps({"version": self.VERSION, "rows": self.done}))

    def finish(self) -> None:
        self.path.unlink(missing_ok=True)


def graph_counts(store: GraphStore) -> dict[str, int]:
    """Node counts per label and relationship counts per type, e.g. for summaries and tests."""
    counts = {f"(:{row['label']})": int(row["count"]) for row in store.run_named("schema_counts")}
    # One count per type: 20x cheaper than resolving both endpoint labels of every edge.
    for row in store.run_named("relationship_types"):
        rows = store.run_named("count_relationships", relation=row["type"])
        if rows and rows[0]["count"]:
            counts[f"[:{row['type']}]"] = int(rows[0]["count"])
    return counts


def prepare(dataset: Dataset, store: GraphStore) -> PreparedImport:
    """Validate against the dataset itself and the ids already in the graph."""
    return validate(dataset, known_in_graph(store))


def write(
    prepared: PreparedImport,
    store: GraphStore,
    journal_dir: Path,
    batch_size: int,
    progress: ProgressHook | None = None,
) -> ImportSummary:
    started = time.perf_counter()
    store.run_script("schema")
    journal_dir.mkdir(parents=True, exist_ok=True)
    journal = _Journal(journal_dir / f"{prepared.fingerprint()}.json")
    resumed = 0
    for name, identifiers, rows in prepared.phases():
        phase = name + ("" if not identifiers else ":" + ":".join(identifiers.values()))
        skip = min(journal.rows_done(phase), len(rows))
        resumed += skip
        if progress is not None and skip:
            progress(phase, skip, len(rows))
        done = skip

        def on_batch(_batch_no: int, n: int, phase: str = phase, total: int = len(rows)) -> None:
            nonlocal done
            done += n
            journal.mark(phase, done)
            if progress is not None:
                progress(phase, n, total)

        store.run_batches(store.statement(name, **identifiers), rows[skip:], batch_size, on_batch)
    journal.finish()
    store.checkpoint()
    return ImportSummary(
        rows=prepared.counts(),
        seconds=time.perf_counter() - started,
        resumed_rows=resumed,
        graph_counts=graph_counts(store),
    )


def import_dataset(
    dataset: Dataset,
    store: GraphStore,
    journal_dir: Path,
    batch_size: int = 5000,
    progress: ProgressHook | None = None,
) -> ImportSummary:
    """Validate `dataset` (raises `ValidationFailed`, nothing written), then write it."""
    prepared = prepare(dataset, store)
    return write(prepared, store, journal_dir, batch_size, progress)
