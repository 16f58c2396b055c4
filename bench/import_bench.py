"""Import throughput: Tailgraph's `import_dataset` vs a raw UNWIND/CREATE "ceiling",
on the embedded FalkorDB server or a Neo4j server, for MovieLens-100K+KG and Last.fm
HetRec+DBpedia.

By default everything runs on one fresh embedded server (`kg.embedded.EmbeddedServer`,
started exactly as `tailgraph db start` does: AOF on, unix socket) under a temporary
``TAILGRAPH_HOME``; the server is stopped and the directory deleted at the end. Every
measurement writes into a fresh, empty graph name, which is deleted afterwards.

With ``--graph-uri bolt://…`` the same measurements run against that Neo4j server
(credentials from ``TAILGRAPH_NEO4J_USER``/``TAILGRAPH_NEO4J_PASSWORD``); Neo4j Community
has one database, so it is emptied (data, constraints, indexes) before every measurement
and at the end: point it at a test server (``python tests/neo4j/server.py --home DIR``),
never at data you keep. The ceiling there is the same ``UNWIND … CREATE`` through the same
``neo4j`` driver (``execute_query``), with range indexes on the three ids (awaited online).
On Neo4j one untimed round of *write* and *ceiling* runs first (the JVM compiles new
statements on first use).

Per dataset (read once with `kg.adapters.load_dataset`, untimed):

- **ours total**: `kg.importer.import_dataset` — validation against the dataset and
  the (empty) graph, schema, batched ``UNWIND … MERGE`` writes with the resume
  journal, final graph counts.
- **ours write**: `kg.importer.prepare` (untimed, reported as ``validate``), then
  `kg.importer.write` alone (timed).
- **ceiling**: the same `PreparedImport` rows, the same batch size, the same client
  (``falkordb`` ``Graph.query`` over the same socket), but plain
  ``UNWIND $rows AS row CREATE (…)``: nodes per label, relationships by
  ``MATCH (a:L {id: row.head}) MATCH (b:L2 {id: row.tail}) CREATE (a)-[:REL {…}]->(b)``;
  no MERGE, no validation, no journal. MATCH by id would be a label scan without an
  index, so the ceiling graph gets the same three id indexes first (Item, Entity,
  User; inside its timing, as `write` runs its schema inside its timing); it does *not*
  get the INTERACTED key index of our schema. Both graphs are checked to be identical
  (node count and property count per label; relationship count, property count and
  sum of weight+rating per type).

Each measurement is repeated ``--repeats`` times (order rotated each round) and the
median is reported. Rates: ``nodes/s`` and ``rels/s`` of *write* and *ceiling* are over
the node phases (entities, items, users) and the relationship phases (triples,
interactions) respectively, timed per phase (ours by a `FalkorDBStore` subclass that
times each `run_batches`/`run_script`/`run_named` call `write` makes);
for *ours total* they are end-to-end (count / whole import time, validation included).
``ratio_to_ceiling`` = ceiling seconds / our seconds (1.0 = as fast as raw CREATE).

``--alternatives`` (on by default) then measures, through the real `kg.importer.write`
with a patched copy of ``cypher/`` (``kg.cypher_files.CYPHER_DIR``), statement/schema
variants that keep MERGE semantics; each is checked to give the same graph as the
current statements, and to give exactly the same graph again when re-run on top of
itself (idempotency). The project's ``cypher/`` folder is never modified.

    python bench/import_bench.py                        # ~9 minutes on 2 (busy) CPU cores
    python bench/import_bench.py --repeats 5 --no-alternatives
    python bench/import_bench.py --datasets ml100k_kg --batch-size 10000
    python bench/import_bench.py --graph-uri bolt://127.0.0.1:7687 --no-alternatives

The last line of output is one JSON object with all figures.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import hashlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))  # run as a script from anywhere
DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data"
DATASETS: dict[str, str] = {"ml100k_kg": "recbole", "lastfm_hetrec_kg": "lastfm-hetrec"}

import tailgraph.kg.cypher_files as cypher_files  # noqa: E402
from falkordb import FalkorDB  # noqa: E402
from tailgraph.kg.adapters import load_dataset  # noqa: E402
from tailgraph.kg.cypher_files import fill_identifiers  # noqa: E402
from tailgraph.kg.dataset import Dataset  # noqa: E402
from tailgraph.kg.embedded import EmbeddedServer, exit_cleanly_on_sigterm  # noqa: E402
from tailgraph.kg.importer import graph_counts, import_dataset, prepare, write  # noqa: E402
from tailgraph.kg.settings import GraphSettings  # noqa: E402
from tailgraph.kg.store import FalkorDBStore, GraphStore, Neo4jStore  # noqa: E402
from tailgraph.kg.validate import PreparedImport  # noqa: E402

PHASE_GROUPS = ("entities", "items", "users", "triples", "interactions")

# ---- the ceiling: raw CREATE of the same rows ------------------------------------------
CEILING_INDEXES = (
    "CREATE INDEX FOR (i:Item) ON (i.id)",
    "CREATE INDEX FOR (e:Entity) ON (e.id)",
    "CREATE INDEX FOR (u:User) ON (u.id)",
)
CEILING: dict[str, str] = {
    "import_entities": (
        "UNWIND $rows AS row CREATE (:Entity {id: row.id, name: row.name, type: row.type})"
    ),
    "import_items": (
        "UNWIND $rows AS row "
        "CREATE (i:Item {id: row.id, title: row.title, description: row.description}) "
        "SET i += row.attrs"
    ),
    "import_users": "UNWIND $rows AS row CREATE (u:User {id: row.id}) SET u += row.attrs",
    "import_triples": (
        "UNWIND $rows AS row "
        "MATCH (h:__HEAD__ {id: row.head}) MATCH (t:__TAIL__ {id: row.tail}) "
        "CREATE (h)-[:__RELATION__ {weight: row.weight}]->(t)"
    ),
    "import_interactions": (
        "UNWIND $rows AS row "
        "MATCH (u:User {id: row.user_id}) MATCH (i:Item {id: row.item_id}) "
        "CREATE (u)-[r:INTERACTED {key: row.key, ts: row.ts, weight: row.weight, "
        "rating: row.rating, kind: row.kind}]->(i) "
        "SET r += row.ctx"
    ),
}

# ---- alternatives: same MERGE semantics, different statements/schema/batch size ---------
SCHEMA_NO_REL_KEY_INDEX = """\
// Variant: id indexes only. MERGE (u)-[r:INTERACTED {key: …}]->(i) between two bound
// nodes is planned as Expand Into + Filter and never reads the key index.
CREATE INDEX FOR (i:Item) ON (i.id);
CREATE INDEX FOR (e:Entity) ON (e.id);
CREATE INDEX FOR (u:User) ON (u.id);
"""
ITEMS_ONE_SET = """\
// Variant: one SET clause.
UNWIND $rows AS row
MERGE (i:Item {id: row.id})
SET i.title = row.title, i.description = row.description, i += row.attrs
"""
INTERACTIONS_ONE_SET = """\
// Variant: one SET clause.
UNWIND $rows AS row
MATCH (u:User {id: row.user_id})
MATCH (i:Item {id: row.item_id})
MERGE (u)-[r:INTERACTED {key: row.key}]->(i)
SET r.ts = row.ts, r.weight = row.weight, r.rating = row.rating, r.kind = row.kind, r += row.ctx
"""
NO_INDEX = {"schema.falkordb": SCHEMA_NO_REL_KEY_INDEX}
ONE_SET = {"import_items": ITEMS_ONE_SET, "import_interactions": INTERACTIONS_ONE_SET}


@dataclass(frozen=True)
class Variant:
    name: str
    what: str
    files: dict[str, str] = field(default_factory=dict)  # statement name -> replacement text
    batch_size: int | None = None  # None: --batch-size


def variants(batch_size: int) -> list[Variant]:
    both = {**NO_INDEX, **ONE_SET}
    return [
        Variant("current", "cypher/ as committed (baseline, same runner as the variants)"),
        Variant("no_rel_key_index", "schema without the INTERACTED(key) index", NO_INDEX),
        Variant("one_set_clause", "items/interactions: one SET clause instead of two", ONE_SET),
        Variant("no_index+one_set", "both of the above", both),
        Variant(
            f"no_index+one_set@{batch_size // 5}", "both, smaller batches", both, batch_size // 5
        ),
        Variant(f"no_index+one_set@{batch_size * 4}", "both, larger batches", both, batch_size * 4),
    ]


# ---- helpers ---------------------------------------------------------------------------
Fingerprint = dict[str, tuple[Any, ...]]


def fingerprint(store: GraphStore) -> Fingerprint:
    """What both sides must agree on: counts and property counts per label and type."""
    out: Fingerprint = {}
    for row in store.run(
        "MATCH (n) RETURN labels(n)[0] AS label, count(n) AS n, sum(size(keys(n))) AS props"
    ):
        out[f"(:{row['label']})"] = (int(row["n"]), int(row["props"]))
    for row in store.run(
        "MATCH ()-[r]->() RETURN type(r) AS type, count(r) AS n, sum(size(keys(r))) AS props, "
        "sum(coalesce(r.weight, 0) + coalesce(r.rating, 0)) AS num"
    ):
        out[f"[:{row['type']}]"] = (int(row["n"]), int(row["props"]), round(float(row["num"]), 3))
    return out


def phase_group(phase: str) -> str:
    """`import_triples:Item:GENRE:Entity` -> `triples`."""
    return phase.split(":")[0].removeprefix("import_")


def totals(prepared: PreparedImport) -> tuple[int, int]:
    counts = prepared.counts()
    nodes = counts["entities"] + counts["items"] + counts["users"]
    return nodes, counts["triples"] + counts["interactions"]


@contextlib.contextmanager
def cypher_dir(path: Path | None) -> Iterator[None]:
    """Point `kg.cypher_files` at another statement folder for the duration."""
    if path is None:
        yield
        return
    saved = cypher_files.CYPHER_DIR
    cypher_files.CYPHER_DIR = path
    try:
        yield
    finally:
        cypher_files.CYPHER_DIR = saved


class Timed(GraphStore):
    """Notes how long each call `write` makes takes; same behaviour as the store it is mixed
    into (`TimedFalkorDB`, `TimedNeo4j`)."""

    spans: list[tuple[str, float]]  # (what, seconds), in call order

    def run_script(self, name: str) -> int:
        started = time.perf_counter()
        try:
            return super().run_script(name)
        finally:
            self.spans.append(("schema", time.perf_counter() - started))

    def run_batches(self, statement: str, rows: Any, batch_size: int, *args: Any, **kw: Any) -> int:
        started = time.perf_counter()
        try:
            return super().run_batches(statement, rows, batch_size, *args, **kw)
        finally:
            self.spans.append(("batches", time.perf_counter() - started))

    def run_named(self, name: str, params: Any = None, **identifiers: str) -> list[Any]:
        started = time.perf_counter()
        try:
            return super().run_named(name, params, **identifiers)
        finally:
            self.spans.append((name, time.perf_counter() - started))

    def breakdown(self, prepared: PreparedImport, seconds: float) -> dict[str, Any]:
        """Where one `write` went: schema, each phase group, final graph counts, and the
        rest (the resume journal: `PreparedImport.fingerprint()` and its file)."""
        phases = dict.fromkeys(PHASE_GROUPS, 0.0)
        names = iter(name for name, _, _ in prepared.phases())
        schema = counts = 0.0
        for what, spent in self.spans:
            if what == "batches":
                phases[phase_group(next(names))] += spent
            elif what == "schema":
                schema += spent
            else:
                counts += spent
        rest = seconds - schema - counts - sum(phases.values())
        return {"phases": phases, "schema_s": schema, "graph_counts_s": counts, "other_s": rest}


class TimedFalkorDB(Timed, FalkorDBStore):
    def __init__(self, socket_path: str, graph_name: str, timeout_s: float) -> None:
        FalkorDBStore.__init__(self, socket_path, graph_name, timeout_s)
        self.spans = []


class TimedNeo4j(Timed, Neo4jStore):
    def __init__(self, uri: str, user: str, password: str) -> None:
        Neo4jStore.__init__(self, uri, user, password, None)
        self.spans = []


def fast_graph_counts(store: GraphStore) -> dict[str, int]:
    """`kg.importer.graph_counts`, with one `count(r)` per relationship type (answered from
    the type's own count on FalkorDB and Neo4j) instead of a scan of every relationship."""
    counts = {f"(:{row['label']})": int(row["count"]) for row in store.run_named("schema_counts")}
    for row in store.run("CALL db.relationshipTypes()"):
        rel_type = str(row["relationshipType"])
        query = f"MATCH ()-[r:`{rel_type}`]->() RETURN count(r) AS count"
        n = int(store.run(query)[0]["count"])
        if n:
            counts[f"[:{rel_type}]"] = n
    return counts


def repr_fingerprint(prepared: PreparedImport) -> str:
    """`PreparedImport.fingerprint()` hashing `repr(rows)` instead of a str-cast DataFrame."""
    digest = hashlib.sha256()
    for name, identifiers, rows in prepared.phases():
        digest.update(f"{name}{sorted(identifiers.items())}{len(rows)}".encode())
        digest.update(repr(rows).encode())
    return digest.hexdigest()[:24]


def measure_overheads(prepared: PreparedImport, store: GraphStore) -> dict[str, Any]:
    """Time the two non-write parts of `write` alone, and cheaper equivalents of them."""
    out: dict[str, Any] = {}
    started = time.perf_counter()
    prepared.fingerprint()
    out["fingerprint_s"] = time.perf_counter() - started
    started = time.perf_counter()
    repr_fingerprint(prepared)
    out["fingerprint_repr_s"] = time.perf_counter() - started
    started = time.perf_counter()
    slow = graph_counts(store)
    out["graph_counts_s"] = time.perf_counter() - started
    started = time.perf_counter()
    fast = fast_graph_counts(store)
    out["graph_counts_per_type_s"] = time.perf_counter() - started
    out["per_type_counts_equal"] = fast == slow
    return out


class Bench:
    """The embedded backend: one fresh FalkorDB server, a graph name per measurement."""

    backend = "falkordb-embedded"
    warmup = False
    ceiling_indexes = CEILING_INDEXES

    def __init__(self, home: Path, batch_size: int) -> None:
        self.home = home
        self.batch_size = batch_size
        self.server = EmbeddedServer(home)
        self.journal_dir = home / "imports"
        self._graphs = 0
        self._db: FalkorDB | None = None

    def start(self) -> None:
        self.server.start()
        self._db = FalkorDB(unix_socket_path=self.server.socket_path, socket_timeout=600)

    def stop(self) -> None:
        if self._db is not None:
            self._db.connection.close()
        self.server.stop()

    @property
    def db(self) -> FalkorDB:
        assert self._db is not None
        return self._db

    def new_graph(self, tag: str) -> str:
        self._graphs += 1
        return f"bench_{self._graphs}_{tag}"

    def store(self, graph: str) -> GraphStore:
        return FalkorDBStore(self.server.socket_path, graph, timeout_s=600)

    def timed_store(self, graph: str) -> Timed:
        return TimedFalkorDB(self.server.socket_path, graph, timeout_s=600)

    def raw_query(self, graph: str) -> Callable[[str, dict[str, Any]], object]:
        """The ceiling's client: the backend's own client call, no store in between."""
        return self.db.select_graph(graph).query

    def drop(self, graph: str) -> None:
        with contextlib.suppress(Exception):
            self.db.select_graph(graph).delete()


class Neo4jBench(Bench):
    """A Neo4j server at `uri` (e.g. the test server of tests/neo4j/server.py). Neo4j
    Community has one database, so every measurement starts from it emptied: nodes deleted
    and every constraint and index (but the token lookup indexes) dropped. The ceiling
    goes through the same `neo4j` driver, with the same settings, as `Neo4jStore`."""

    backend = "neo4j"
    warmup = True
    ceiling_indexes = (
        "CREATE INDEX ceiling_item_id FOR (i:Item) ON (i.id)",
        "CREATE INDEX ceiling_entity_id FOR (e:Entity) ON (e.id)",
        "CREATE INDEX ceiling_user_id FOR (u:User) ON (u.id)",
        "CALL db.awaitIndexes(300)",  # an index is used once it is online
    )

    def __init__(self, home: Path, batch_size: int, uri: str, user: str, password: str) -> None:
        super().__init__(home, batch_size)
        self.uri, self.user, self.password = uri, user, password
        self._driver: Any = None

    def start(self) -> None:
        import neo4j

        # The driver settings of `Neo4jStore`, so the ceiling pays what our writes pay.
        self._driver = neo4j.GraphDatabase.driver(
            self.uri,
            auth=(self.user, self.password),
            max_transaction_retry_time=0,
            notifications_min_severity="OFF",
        )
        self._driver.verify_connectivity()
        self.drop("")

    def stop(self) -> None:
        if self._driver is not None:
            self.drop("")
            self._driver.close()

    def store(self, graph: str) -> GraphStore:
        return Neo4jStore(self.uri, self.user, self.password, None)

    def timed_store(self, graph: str) -> Timed:
        return TimedNeo4j(self.uri, self.user, self.password)

    def raw_query(self, graph: str) -> Callable[[str, dict[str, Any]], object]:
        def query(statement: str, params: dict[str, Any] | None = None) -> object:
            return self._driver.execute_query(statement, parameters_=params or {})

        return query

    def drop(self, graph: str) -> None:
        # Relationships, then nodes, 10,000 a transaction: a hub's DETACH DELETE in a
        # batch of nodes can outgrow the test server's transaction memory cap.
        for statement in (
            "MATCH ()-[r]->() WITH r LIMIT 10000 DELETE r RETURN count(*) AS n",
            "MATCH (n) WITH n LIMIT 10000 DELETE n RETURN count(*) AS n",
        ):
            while self._driver.execute_query(statement).records[0]["n"]:
                pass
        with self._driver.session() as session:
            for row in session.run("SHOW CONSTRAINTS YIELD name").data():
                session.run(f"DROP CONSTRAINT `{row['name']}`").consume()
            for row in session.run("SHOW INDEXES YIELD name, type").data():
                if row["type"] != "LOOKUP":
                    session.run(f"DROP INDEX `{row['name']}`").consume()

    # ---- the three measurements -----------------------------------------------------
    def ours_total(self, dataset: Dataset) -> dict[str, Any]:
        graph = self.new_graph("total")
        store = self.store(graph)
        try:
            gc.collect()
            started = time.perf_counter()
            summary = import_dataset(dataset, store, self.journal_dir, self.batch_size)
            seconds = time.perf_counter() - started
            assert summary.resumed_rows == 0
            return {"seconds": seconds, "fingerprint": fingerprint(store)}
        finally:
            store.close()
            self.drop(graph)

    def ours_write(
        self,
        dataset: Dataset,
        prepared: PreparedImport | None = None,
        variant_dir: Path | None = None,
        batch_size: int | None = None,
        rerun: bool = False,
        overheads: bool = False,
    ) -> dict[str, Any]:
        """`prepare` (timed apart; skipped when `prepared` rows are given), then `write`."""
        graph = self.new_graph("write")
        store = self.timed_store(graph)
        try:
            with cypher_dir(variant_dir):
                started = time.perf_counter()
                if prepared is None:
                    prepared = prepare(dataset, store)
                validate_s = time.perf_counter() - started
                store.spans.clear()
                gc.collect()
                started = time.perf_counter()
                write(prepared, store, self.journal_dir, batch_size or self.batch_size)
                seconds = time.perf_counter() - started
                result = {
                    "seconds": seconds,
                    "validate_s": validate_s,
                    **store.breakdown(prepared, seconds),
                    "fingerprint": fingerprint(store),
                }
                if overheads:
                    result["overheads"] = measure_overheads(prepared, store)
                if rerun:  # the same import again, on top of itself
                    started = time.perf_counter()
                    write(prepared, store, self.journal_dir, batch_size or self.batch_size)
                    result["rerun_s"] = time.perf_counter() - started
                    result["rerun_fingerprint"] = fingerprint(store)
            return result
        finally:
            store.close()
            self.drop(graph)

    def ceiling(self, prepared: PreparedImport) -> dict[str, Any]:
        graph_name = self.new_graph("ceiling")
        query = self.raw_query(graph_name)
        try:
            batches = []
            for name, identifiers, rows in prepared.phases():
                statement = CEILING[name]
                if identifiers:
                    statement = fill_identifiers(statement, **identifiers)
                batches.append((name, statement, rows))
            gc.collect()
            started = time.perf_counter()
            for statement in self.ceiling_indexes:
                query(statement, {})
            phases: dict[str, float] = dict.fromkeys(PHASE_GROUPS, 0.0)
            for name, statement, rows in batches:
                phase_started = time.perf_counter()
                for start in range(0, len(rows), self.batch_size):
                    query(statement, {"rows": rows[start : start + self.batch_size]})
                phases[phase_group(name)] += time.perf_counter() - phase_started
            seconds = time.perf_counter() - started
            store = self.store(graph_name)
            try:
                return {"seconds": seconds, "phases": phases, "fingerprint": fingerprint(store)}
            finally:
                store.close()
        finally:
            self.drop(graph_name)


def median(values: list[float]) -> float:
    return statistics.median(values)


def median_phases(runs: list[dict[str, Any]]) -> dict[str, float]:
    return {g: median([run["phases"][g] for run in runs]) for g in PHASE_GROUPS}


def rotated(items: list[Any], shift: int) -> list[Any]:
    shift %= len(items)
    return items[shift:] + items[:shift]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ---- per dataset ------------------------------------------------------------------------
def bench_dataset(
    bench: Bench, name: str, dataset: Dataset, repeats: int, with_alternatives: bool
) -> dict[str, Any]:
    # The prepared rows both sides write: what `import_dataset` prepares on an empty graph.
    probe = bench.new_graph("probe")
    store = bench.store(probe)
    prepared = prepare(dataset, store)
    store.close()
    bench.drop(probe)
    nodes, rels = totals(prepared)

    runs: dict[str, list[dict[str, Any]]] = {"total": [], "write": [], "ceiling": []}
    jobs: list[tuple[str, Callable[[], dict[str, Any]]]] = [
        ("total", lambda: bench.ours_total(dataset)),
        ("write", lambda: bench.ours_write(dataset, overheads=True)),
        ("ceiling", lambda: bench.ceiling(prepared)),
    ]
    for kind, job in jobs[1:] if bench.warmup else []:
        # Untimed: a JVM server compiles the plans and code of new statements on first
        # use (the first Neo4j round ran 2x slower); both sides get the same warm-up.
        log(f"  {name} warm-up {kind:8s} {job()['seconds']:.2f} s (not counted)")
    for rep in range(repeats):
        for kind, job in rotated(jobs, rep):
            runs[kind].append(job())
            log(f"  {name} rep {rep + 1}/{repeats} {kind:8s} {runs[kind][-1]['seconds']:.2f} s")

    ours_fp = runs["total"][0]["fingerprint"]
    same_graph = all(run["fingerprint"] == ours_fp for kind in runs for run in runs[kind])
    expected_nodes_rels = (
        sum(v[0] for k, v in ours_fp.items() if k.startswith("(")),
        sum(v[0] for k, v in ours_fp.items() if k.startswith("[")),
    )
    if not same_graph or expected_nodes_rels != (nodes, rels):
        raise SystemExit(
            f"{name}: graphs differ between runs or from the prepared rows "
            f"({expected_nodes_rels} vs {(nodes, rels)}): {runs['ceiling'][0]['fingerprint']} "
            f"vs {ours_fp}"
        )

    total_s = median([r["seconds"] for r in runs["total"]])
    write_s = median([r["seconds"] for r in runs["write"]])
    ceiling_s = median([r["seconds"] for r in runs["ceiling"]])
    write_phases = median_phases(runs["write"])
    ceiling_phases = median_phases(runs["ceiling"])

    def node_s(phases: dict[str, float]) -> float:
        return phases["entities"] + phases["items"] + phases["users"]

    def rel_s(phases: dict[str, float]) -> float:
        return phases["triples"] + phases["interactions"]

    result: dict[str, Any] = {
        "rows": prepared.counts(),
        "nodes": nodes,
        "relationships": rels,
        "seconds": {
            "ours_total": round(total_s, 3),
            "ours_write": round(write_s, 3),
            "ceiling": round(ceiling_s, 3),
            "validate": round(median([r["validate_s"] for r in runs["write"]]), 3),
        },
        "phase_seconds": {
            "ours_write": {g: round(s, 3) for g, s in write_phases.items()},
            "ceiling": {g: round(s, 3) for g, s in ceiling_phases.items()},
        },
        "nodes_per_s": {
            "ours_total": round(nodes / total_s),
            "ours_write": round(nodes / node_s(write_phases)),
            "ceiling": round(nodes / node_s(ceiling_phases)),
        },
        "rels_per_s": {
            "ours_total": round(rels / total_s),
            "ours_write": round(rels / rel_s(write_phases)),
            "ceiling": round(rels / rel_s(ceiling_phases)),
        },
        "ratio_to_ceiling": {
            "write": round(ceiling_s / write_s, 3),
            "total": round(ceiling_s / total_s, 3),
        },
        "write_breakdown_s": {
            key: round(median([r[key] for r in runs["write"]]), 3)
            for key in ("schema_s", "graph_counts_s", "other_s")
        },
        "overheads_s": {
            key: round(median([r["overheads"][key] for r in runs["write"]]), 3)
            for key in (
                "fingerprint_s",
                "fingerprint_repr_s",
                "graph_counts_s",
                "graph_counts_per_type_s",
            )
        },
        "same_graph": same_graph
        and all(r["overheads"]["per_type_counts_equal"] for r in runs["write"]),
        "repeats": repeats,
        "all_seconds": {k: [round(r["seconds"], 3) for r in v] for k, v in runs.items()},
    }
    if with_alternatives:
        o = result["overheads_s"]
        # What the journal fingerprint and the final counts would save if replaced by the
        # cheaper equivalents timed above (applied to each alternative as a projection).
        saving = (o["fingerprint_s"] - o["fingerprint_repr_s"]) + (
            o["graph_counts_s"] - o["graph_counts_per_type_s"]
        )
        result["alternatives"] = bench_alternatives(
            bench, name, dataset, prepared, repeats, ceiling_s, ours_fp, saving
        )
    return result


def bench_alternatives(
    bench: Bench,
    name: str,
    dataset: Dataset,
    prepared: PreparedImport,
    repeats: int,
    ceiling_s: float,
    reference: Fingerprint,
    saving: float,
) -> dict[str, Any]:
    chosen = variants(bench.batch_size)
    dirs: dict[str, Path | None] = {}
    for variant in chosen:
        if not variant.files:
            dirs[variant.name] = None
            continue
        folder = bench.home / "cypher" / variant.name.replace("@", "_at_").replace("+", "_")
        if not folder.exists():
            shutil.copytree(REPO_ROOT / "cypher", folder)
            for statement, text in variant.files.items():
                (folder / f"{statement}.cypher").write_text(text, encoding="utf-8")
        dirs[variant.name] = folder

    runs: dict[str, list[dict[str, Any]]] = {v.name: [] for v in chosen}
    for rep in range(repeats):
        for variant in rotated(chosen, rep):
            run = bench.ours_write(
                dataset, prepared, dirs[variant.name], variant.batch_size, rerun=rep == 0
            )
            runs[variant.name].append(run)
            log(f"  {name} rep {rep + 1}/{repeats} alt {variant.name:24s} {run['seconds']:.2f} s")

    out: dict[str, Any] = {}
    baseline = median([r["seconds"] for r in runs["current"]])
    for variant in chosen:
        vruns = runs[variant.name]
        seconds = median([r["seconds"] for r in vruns])
        first = vruns[0]
        out[variant.name] = {
            "what": variant.what,
            "batch_size": variant.batch_size or bench.batch_size,
            "write_s": round(seconds, 3),
            "phase_seconds": {g: round(s, 3) for g, s in median_phases(vruns).items()},
            "speedup_vs_current": round(baseline / seconds, 3),
            "ratio_to_ceiling": round(ceiling_s / seconds, 3),
            "projected_write_s": round(seconds - saving, 3),
            "projected_ratio_to_ceiling": round(ceiling_s / (seconds - saving), 3),
            "same_graph": all(r["fingerprint"] == reference for r in vruns),
            "rerun_s": round(first["rerun_s"], 3),
            "rerun_idempotent": first["rerun_fingerprint"] == reference,
        }
    return out


# ---- output -----------------------------------------------------------------------------
def print_tables(results: dict[str, Any], batch_size: int) -> None:
    for name, r in results.items():
        s = r["seconds"]
        print(
            f"\n{name}: {r['nodes']:,} nodes, {r['relationships']:,} relationships "
            f"(batch {batch_size}, median of {r['repeats']})"
        )
        print(f"  {'':14s} {'seconds':>8s} {'nodes/s':>10s} {'rels/s':>10s} {'ceiling/x':>10s}")
        rows = (
            ("ours total", s["ours_total"], "ours_total", r["ratio_to_ceiling"]["total"]),
            ("ours write", s["ours_write"], "ours_write", r["ratio_to_ceiling"]["write"]),
            ("ceiling", s["ceiling"], "ceiling", 1.0),
        )
        for label, seconds, key, ratio in rows:
            print(
                f"  {label:14s} {seconds:8.2f} {r['nodes_per_s'][key]:10,d} "
                f"{r['rels_per_s'][key]:10,d} {ratio:10.2f}"
            )
        print(f"  (validation alone: {s['validate']:.2f} s; ours total = validation + write)")
        print(f"  {'phase seconds':14s} " + " ".join(f"{g:>12s}" for g in PHASE_GROUPS))
        for key in ("ours_write", "ceiling"):
            phases = r["phase_seconds"][key]
            print(f"  {key:14s} " + " ".join(f"{phases[g]:12.2f}" for g in PHASE_GROUPS))
        b, o = r["write_breakdown_s"], r["overheads_s"]
        print(
            f"  rest of ours write: schema {b['schema_s']:.2f} s, final graph counts "
            f"{b['graph_counts_s']:.2f} s (per-type counts instead: "
            f"{o['graph_counts_per_type_s']:.2f} s), journal etc. {b['other_s']:.2f} s "
            f"(fingerprint {o['fingerprint_s']:.2f} s; repr-based: {o['fingerprint_repr_s']:.2f} s)"
        )
        if "alternatives" in r:
            print(
                f"  {'alternative (write only)':26s} {'seconds':>8s} {'vs cur':>7s} {'ceil/x':>7s} "
                f"{'interact':>8s} {'proj s':>7s} {'proj c/x':>8s} {'rerun s':>8s} "
                f"{'same':>5s} {'idem':>5s}"
            )
            for vname, a in r["alternatives"].items():
                print(
                    f"  {vname:26s} {a['write_s']:8.2f} {a['speedup_vs_current']:7.2f} "
                    f"{a['ratio_to_ceiling']:7.2f} {a['phase_seconds']['interactions']:8.2f} "
                    f"{a['projected_write_s']:7.2f} {a['projected_ratio_to_ceiling']:8.2f} "
                    f"{a['rerun_s']:8.2f} {a['same_graph']!s:>5s} {a['rerun_idempotent']!s:>5s}"
                )
            print(
                "  (proj = also with per-type final counts and the repr fingerprint; "
                "same = same graph as ours; idem = a re-run on top gives the same graph)"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument(
        "--datasets", default=",".join(DATASETS), help=f"comma-separated, of {', '.join(DATASETS)}"
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--alternatives", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument(
        "--graph-uri",
        default=None,
        help="a Neo4j bolt:// or neo4j:// URI: bench that server (it is emptied) instead of a "
        "fresh embedded one; user/password from TAILGRAPH_NEO4J_USER/TAILGRAPH_NEO4J_PASSWORD",
    )
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats: expected at least 1")
    names = [n.strip() for n in args.datasets.split(",") if n.strip()]
    unknown = [n for n in names if n not in DATASETS]
    if unknown:
        parser.error(f"--datasets: expected names in {', '.join(DATASETS)}; found {unknown}")

    exit_cleanly_on_sigterm()  # a killed run still stops its graph server
    home = Path(tempfile.mkdtemp(prefix="tailgraph-bench-"))
    os.environ["TAILGRAPH_HOME"] = str(home)
    bench: Bench
    if args.graph_uri:
        settings = GraphSettings(graph_uri=args.graph_uri)
        if settings.backend != "neo4j":
            parser.error(f"--graph-uri: expected a Neo4j URI; found {args.graph_uri!r}")
        password = settings.neo4j_password.get_secret_value()
        bench = Neo4jBench(home, args.batch_size, args.graph_uri, settings.neo4j_user, password)
        # The alternatives are variants of the embedded server's statements and schema.
        args.alternatives = False
    else:
        bench = Bench(home, args.batch_size)
    results: dict[str, Any] = {}
    try:
        bench.start()
        for name in names:
            started = time.perf_counter()
            dataset = load_dataset(args.data / name, DATASETS[name])
            log(f"{name}: loaded in {time.perf_counter() - started:.2f} s (not timed below)")
            results[name] = bench_dataset(bench, name, dataset, args.repeats, args.alternatives)
    finally:
        with contextlib.suppress(Exception):
            bench.stop()
        shutil.rmtree(home, ignore_errors=True)

    print_tables(results, args.batch_size)
    summary = {
        "bench": "import",
        "backend": bench.backend,
        "batch_size": args.batch_size,
        "repeats": args.repeats,
        "cpus": os.cpu_count(),
        "datasets": results,
    }
    print(json.dumps(summary, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
