"""Import: every bad-input case is located and writes nothing; re-runs are idempotent;
a SIGKILLed import resumes to exact counts; a second directory adds to the graph."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from tailgraph.kg.adapters import load_dataset
from tailgraph.kg.importer import graph_counts, import_dataset
from tailgraph.kg.sample import write_sample
from tailgraph.kg.settings import GraphSettings
from tailgraph.kg.store import GraphStore

ITEMS = "item_id,title,description,year\n1,Alpha,First item,1990\n2,Beta,,1995\n3,Gamma,Third,\n"
ENTITIES = "entity_id,name,type\ng1,Drama,genre\ng2,Comedy,genre\np1,Ann Lee,person\n"
TRIPLES = "head,relation,tail\n1,HAS_GENRE,g1\n2,HAS_GENRE,g2\n3,DIRECTED_BY,p1\ng1,RELATED_TO,g2\n"
USERS = "user_id,age\nu1,31\nu2,45\n"
INTERACTIONS = (
    "user_id,item_id,timestamp,rating\nu1,1,100,4\nu1,2,200,5\nu2,3,2021-03-04T05:06:07Z,3\n"
)
GOOD = {
    "items.csv": ITEMS, "entities.csv": ENTITIES, "triples.csv": TRIPLES,
    "users.csv": USERS, "interactions.csv": INTERACTIONS,
}  # fmt: skip


def write_dir(path: Path, files: dict[str, str | bytes]) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        target = path / name
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")
    return path


def tailgraph(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tailgraph.api.cli", *args],
        capture_output=True, text=True, env={**os.environ, **env}, check=False,
    )  # fmt: skip


def test_good_dataset_imports_with_exact_counts_and_text_intact(
    store: GraphStore, tmp_path: Path
) -> None:
    files = dict(GOOD)
    files["items.csv"] += '4,"He said ""hi""\nthen left","multi\nline",2001\n'
    src = write_dir(tmp_path / "ds", files)
    summary = import_dataset(load_dataset(src), store, tmp_path / "journal")
    assert summary.graph_counts == {
        "(:Entity)": 3, "(:Item)": 4, "(:User)": 2,
        "[:INTERACTED]": 3, "[:HAS_GENRE]": 2, "[:DIRECTED_BY]": 1, "[:RELATED_TO]": 1,
    }  # fmt: skip
    item = store.run("MATCH (i:Item {id: '4'}) RETURN i.title AS t, i.description AS d")[0]
    assert item == {"t": 'He said "hi"\nthen left', "d": "multi\nline"}
    ts = store.run("MATCH (:User {id: 'u2'})-[x:INTERACTED]->() RETURN x.ts AS ts")[0]["ts"]
    assert ts == pd.Timestamp("2021-03-04T05:06:07Z").timestamp()
    assert store.run("MATCH (u:User {id: 'u1'}) RETURN u.age AS age") == [{"age": 31}]


def test_import_twice_gives_same_counts(store: GraphStore, tmp_path: Path) -> None:
    src = write_dir(tmp_path / "ds", GOOD)
    first = import_dataset(load_dataset(src), store, tmp_path / "j").graph_counts
    second = import_dataset(load_dataset(src), store, tmp_path / "j").graph_counts
    assert first == second


def test_second_directory_adds_to_the_graph(store: GraphStore, tmp_path: Path) -> None:
    import_dataset(load_dataset(write_dir(tmp_path / "a", GOOD)), store, tmp_path / "j")
    more = {
        "items.csv": "item_id,title\n5,Delta\n",
        # references item 1 and user u1 that only the graph knows
        "interactions.csv": "user_id,item_id,timestamp\nu1,5,300\nu1,1,400\nu3,5,500\n",
    }
    counts = import_dataset(load_dataset(write_dir(tmp_path / "b", more)), store, tmp_path / "j")
    assert counts.graph_counts["(:Item)"] == 4
    assert counts.graph_counts["(:User)"] == 3  # u3 created from interactions (no users file)
    assert counts.graph_counts["[:INTERACTED]"] == 6


BAD_CASES = {
    "missing required column": (
        {"items.csv": "item_id,name\n1,x\n"},
        ["items.csv", "column 'title'", "expected a column named 'title'"],
    ),
    "missing items file": ({"users.csv": USERS}, ["items"]),
    "duplicate ids": (
        {"items.csv": "item_id,title\n1,a\n2,b\n1,c\n"},
        ["items.csv, row 4, column 'item_id'", "'1' again (first at row 2)"],
    ),
    "interaction with unknown item": (
        {**GOOD, "interactions.csv": "user_id,item_id\nu1,1\nu2,99\n"},
        ["interactions.csv, row 3, column 'item_id'", "'99'"],
    ),
    "interaction with unknown user": (
        {**GOOD, "interactions.csv": "user_id,item_id\nu7,1\n"},
        ["interactions.csv, row 2, column 'user_id'", "'u7'"],
    ),
    "triple with unknown tail": (
        {**GOOD, "triples.csv": "head,relation,tail\n1,HAS_GENRE,g1\n1,HAS_GENRE,nope\n"},
        ["triples.csv, row 3, column 'tail'", "'nope'"],
    ),
    "non-UTF-8 bytes": (
        {**GOOD, "items.csv": b"item_id,title\n1,ok\n2,caf\xe9\n"},
        ["items.csv, row 3", "UTF-8", "e9"],
    ),
    "empty file": ({**GOOD, "users.csv": ""}, ["users.csv", "empty"]),
    "header only": ({**GOOD, "users.csv": "user_id\n"}, ["users.csv", "at least one data row"]),
    "text in timestamp column": (
        {**GOOD, "interactions.csv": "user_id,item_id,timestamp\nu1,1,100\nu1,2,yesterday\n"},
        ["interactions.csv, row 3, column 'timestamp'", "'yesterday'"],
    ),
    "text in rating column": (
        {**GOOD, "interactions.csv": "user_id,item_id,rating\nu1,1,good\n"},
        ["interactions.csv, row 2, column 'rating'", "expected a number", "'good'"],
    ),
    "relation with a space": (
        {**GOOD, "triples.csv": "head,relation,tail\n1,has genre,g1\n"},
        ["triples.csv, row 2, column 'relation'", "'has genre'"],
    ),
    "relation with a quote": (
        {**GOOD, "triples.csv": "head,relation,tail\n1,HAS'GENRE,g1\n"},
        ["triples.csv, row 2, column 'relation'", "HAS'GENRE"],
    ),
    "relation with a backtick": (
        {**GOOD, "triples.csv": "head,relation,tail\n1,HAS`]->(x) DETACH DELETE x//,g1\n"},
        ["triples.csv, row 2, column 'relation'", "HAS`"],
    ),
    "entity id that is also an item id": (
        {**GOOD, "entities.csv": ENTITIES + "1,One,number\n"},
        ["entities.csv, row 5, column 'entity_id'", "also an item id"],
    ),
    "duplicate interaction": (
        {**GOOD, "interactions.csv": "user_id,item_id,timestamp\nu1,1,5\nu1,1,5\n"},
        ["interactions.csv, row 3", "the same interaction as row 2"],
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_bad_input_is_located_and_writes_nothing(
    case: str, tmp_path: Path, cli_env: dict[str, str], store: GraphStore
) -> None:
    # Seed the graph so "unchanged" means something.
    import_dataset(load_dataset(write_dir(tmp_path / "seed", GOOD)), store, tmp_path / "j")
    before = graph_counts(store)
    files, fragments = BAD_CASES[case]
    src = write_dir(tmp_path / "bad", files)
    result = tailgraph("import", str(src), env=cli_env)
    assert result.returncode != 0, result.stdout
    message = result.stderr
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    assert "Traceback" not in message
    assert graph_counts(store) == before


def test_all_problems_are_reported_in_one_pass(store: GraphStore, tmp_path: Path) -> None:
    from tailgraph.kg.errors import ValidationFailed

    files = {
        **GOOD,
        "items.csv": "item_id,title\n1,a\n1,b\n",
        "interactions.csv": "user_id,item_id,timestamp\nu1,1,x\nu1,2,y\n",
    }
    with pytest.raises(ValidationFailed) as info:
        import_dataset(load_dataset(write_dir(tmp_path / "b", files)), store, tmp_path / "j")
    assert info.value.total >= 4  # duplicate id, two timestamps, unknown item '2', ...
    assert graph_counts(store) == {}


def test_sigkill_mid_import_then_rerun_gives_exact_counts(
    tmp_path: Path, cli_env: dict[str, str], store: GraphStore, graph_settings: GraphSettings
) -> None:
    src = tmp_path / "sample"
    write_sample(src, size="small", seed=3)
    # The expected counts: the same data imported cleanly into another graph.
    # (On Neo4j, whose Community edition has one database, "another graph" is the same one,
    # emptied again below before the import that gets killed.)
    reference = graph_settings.model_copy(update={"graph_name": graph_settings.graph_name + "_r"})
    from tailgraph.kg.store import open_store

    with open_store(reference) as ref:
        expected = import_dataset(load_dataset(src), ref, tmp_path / "jr").graph_counts
        ref.run("MATCH (n) DETACH DELETE n")

    env = {**cli_env, "TAILGRAPH_BATCH_SIZE": "200"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tailgraph.api.cli", "import", str(src)],
        env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    journal_dir = graph_settings.home / "imports"
    deadline = time.monotonic() + 60
    journal: dict[str, int] = {}
    while time.monotonic() < deadline and proc.poll() is None:
        # Kill once the import is into the interactions (the last, largest phase).
        for path in journal_dir.glob("*.json"):
            try:
                journal = json.loads(path.read_text())["rows"]
            except (json.JSONDecodeError, FileNotFoundError, KeyError):
                continue
        if journal.get("import_interactions", 0) >= 400:
            break
        time.sleep(0.01)
    assert proc.poll() is None, "import finished before it could be killed; raise the row count"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    partial = graph_counts(store)
    assert partial["[:INTERACTED]"] < expected["[:INTERACTED]"]

    result = tailgraph("import", str(src), env=env)
    assert result.returncode == 0, result.stderr
    assert "resumed" in result.stdout
    assert graph_counts(store) == expected


class _Crash(Exception):
    """Stands for a crash right after a batch was written and journalled."""


def _crash_after(rows: int) -> Callable[[str, int, int], None]:
    """A progress hook that raises once `rows` rows have been written (journal included)."""
    written = 0

    def hook(_phase: str, n: int, _total: int) -> None:
        nonlocal written
        written += n
        if written >= rows:
            raise _Crash

    return hook


@pytest.mark.parametrize(("first", "second"), [(200, 5000), (700, 130), (50, 333)])
def test_resume_with_another_batch_size_gives_exact_counts(
    tmp_path: Path, store: GraphStore, graph_settings: GraphSettings, first: int, second: int
) -> None:
    # An import interrupted with one --batch-size and resumed with another must end with
    # every row written: the journal must not count batches of a size the resume lacks.
    from tailgraph.kg.importer import prepare, write
    from tailgraph.kg.store import open_store

    src = tmp_path / "sample"
    write_sample(src, size="small", seed=3)
    dataset = load_dataset(src)
    reference = graph_settings.model_copy(update={"graph_name": graph_settings.graph_name + "_r"})
    with open_store(reference) as ref:
        expected = import_dataset(dataset, ref, tmp_path / "jr").graph_counts
        ref.run("MATCH (n) DETACH DELETE n")
    total = sum(prepare(dataset, store).counts().values())
    journal = tmp_path / "journal"
    # Crash points: a third, two thirds, and the batch before the last one.
    for stop in (total // 3, (2 * total) // 3, total - first):
        store.run("MATCH (n) DETACH DELETE n")
        with pytest.raises(_Crash):
            write(prepare(dataset, store), store, journal, first, _crash_after(stop))
        assert graph_counts(store) != expected  # the crash left the import unfinished
        summary = write(prepare(dataset, store), store, journal, second)
        assert summary.graph_counts == expected, (first, second, stop)
        assert summary.resumed_rows > 0
        assert not list(journal.glob("*.json"))  # finished: the journal is gone


@pytest.mark.slow
def test_sigkill_at_random_points_then_resume_with_another_batch_size(
    tmp_path: Path, cli_env: dict[str, str], store: GraphStore, graph_settings: GraphSettings
) -> None:
    # The command line end to end: SIGKILL at a random moment of the writes (after the
    # first batch is journalled), resume with a different --batch-size, exact counts.
    import random

    from tailgraph.kg.store import open_store

    src = tmp_path / "sample"
    write_sample(src, size="small", seed=4)
    reference = graph_settings.model_copy(update={"graph_name": graph_settings.graph_name + "_r"})
    with open_store(reference) as ref:
        expected = import_dataset(load_dataset(src), ref, tmp_path / "jr").graph_counts
        ref.run("MATCH (n) DETACH DELETE n")
    draw = random.Random(13)
    journal_dir = graph_settings.home / "imports"
    for trial in range(3):
        store.run("MATCH (n) DETACH DELETE n")
        first, second = draw.choice([(100, 5000), (150, 40), (60, 900)])
        proc = subprocess.Popen(
            [sys.executable, "-m", "tailgraph.api.cli", "import", str(src),
             "--batch-size", str(first)],
            env={**os.environ, **cli_env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 120
        while not list(journal_dir.glob("*.json")) and proc.poll() is None:
            assert time.monotonic() < deadline
            time.sleep(0.005)
        time.sleep(draw.uniform(0.0, 0.6))
        proc.kill()
        proc.wait()
        result = tailgraph("import", str(src), "--batch-size", str(second), env=cli_env)
        assert result.returncode == 0, result.stderr
        assert graph_counts(store) == expected, (trial, first, second)
