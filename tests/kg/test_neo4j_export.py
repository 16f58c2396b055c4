"""`tailgraph export neo4j-admin`: header + data CSV files in Neo4j's import format, checked
against the documented header syntax, and loaded by the real `neo4j-admin database import
full` (the import tool from Maven) into a Neo4j whose snapshot equals the source graph's."""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch
from tailgraph.kg.adapters import load_dataset
from tailgraph.kg.cypher_files import split_statements
from tailgraph.kg.importer import graph_counts, import_dataset
from tailgraph.kg.neo4j_export import ExportError, export_neo4j_admin, import_args
from tailgraph.kg.sample import write_sample
from tailgraph.kg.settings import GraphSettings
from tailgraph.kg.snapshot import GraphSnapshot, take_snapshot
from tailgraph.kg.store import GraphStore, open_store

from tests.conftest import env_for, neo4j_settings, start_neo4j
from tests.neo4j.server import Neo4jServer, admin_import

# Neo4j's header syntax (Operations Manual, "Import" → "CSV header format"): an id column
# `name:ID(space)`, relationship endpoints `:START_ID(space)` / `:END_ID(space)`, and
# properties `name:type` with the types we write.
NODE_ID = re.compile(r"^id:ID\((Item|Entity|User)\)$")
ENDPOINT = re.compile(r"^:(START|END)_ID\((Item|Entity|User)\)$")
PROPERTY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*:(string|long|double|boolean)$")

TRICKY = {
    "items.csv": (
        "item_id,title,description,year,price,code\n"
        '1,"Comma, quote "" and\nnewline","",1990,9.5,007\n'
        "2,Zürich 😀,plain,,2.25,012\n"
        "3,Third,,2001,,\n"
    ),
    "entities.csv": 'entity_id,name,type\ng1,Drama,genre\ng2,"Dra,ma",genre\n',
    "triples.csv": (
        "head,relation,tail,weight\n1,HAS_GENRE,g1,0.5\n2,HAS_GENRE,g2,\ng1,RELATED_TO,g2,\n"
    ),
    "users.csv": "user_id,age\nu1,31\nu2,\n",
    "interactions.csv": (
        "user_id,item_id,timestamp,rating,kind,device\n"
        "u1,1,100,4,view,phone\nu1,2,2021-03-04T05:06:07Z,,buy,\nu2,3,,3.5,,tv\n"
    ),
}


def _write(path: Path, files: dict[str, str]) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (path / name).write_text(text, encoding="utf-8")
    return path


def _header(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").rstrip("\n").split(",")


def test_export_files_follow_the_header_format(store: GraphStore, tmp_path: Path) -> None:
    import_dataset(load_dataset(_write(tmp_path / "ds", TRICKY)), store, tmp_path / "j")
    summary = export_neo4j_admin(store, tmp_path / "out")
    out = tmp_path / "out"
    assert summary.nodes == {"Item": 3, "Entity": 2, "User": 2}
    assert summary.relationships == {"INTERACTED": 3, "HAS_GENRE": 2, "RELATED_TO": 1}

    args = import_args(out)
    assert args[0] == "--multiline-fields=true"
    for arg in args[1:]:
        option, rest = arg.split("=", 1)
        assert option in ("--nodes", "--relationships")
        _, files = rest.split("=", 1)
        header_file, data_file = (Path(f) for f in files.split(","))
        assert header_file.exists() and data_file.exists()
        header = _header(header_file)
        if option == "--nodes":
            assert NODE_ID.match(header[0]), header
            rest_columns = header[1:]
        else:
            assert ENDPOINT.match(header[0]) and ENDPOINT.match(header[1]), header
            assert header[0].startswith(":START") and header[1].startswith(":END")
            rest_columns = header[2:]
        assert all(PROPERTY.match(column) for column in rest_columns), header
        # RFC 4180 data, one field per header column.
        with data_file.open(encoding="utf-8", newline="") as f:
            assert all(len(row) == len(header) for row in csv.reader(f))

    items = (out / "nodes" / "Item.csv").read_text(encoding="utf-8")
    assert '"Comma, quote "" and\nnewline"' in items and "Zürich 😀" in items
    header = _header(out / "nodes" / "Item.header.csv")
    assert header == [
        "id:ID(Item)", "title:string", "description:string",
        "code:string", "price:double", "year:long",
    ]  # fmt: skip
    with (out / "nodes" / "Item.csv").open(encoding="utf-8", newline="") as f:
        rows = {row[0]: row for row in csv.reader(f)}
    assert rows["3"][3:] == ["", "", "2001"]  # missing values: empty fields, no property
    assert rows["1"][3] == "007"  # a code with a leading zero stays text


def test_export_refuses_a_list_property_and_writes_nothing(
    store: GraphStore, tmp_path: Path
) -> None:
    store.run("CREATE (:Item {id: 'x', title: 'X', tags: ['a', 'b']})")
    with pytest.raises(ExportError, match=r"Item nodes, row 1, property 'tags:string'.*list"):
        export_neo4j_admin(store, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert not list(tmp_path.glob(".out-*"))


def _frames_equal(a: GraphSnapshot, b: GraphSnapshot) -> None:
    for name in ("items", "users", "entities", "interactions", "kg_edges"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), obj=name)
    ha, hb = a.to_hetero_data(), b.to_hetero_data()
    assert ha.edge_types == hb.edge_types
    for edge_type in ha.edge_types:
        assert torch.equal(ha[edge_type].edge_index, hb[edge_type].edge_index)


@pytest.mark.neo4j
@pytest.mark.slow
def test_neo4j_admin_import_of_the_export_gives_the_same_graph(
    tmp_path: Path, server_home: Path
) -> None:
    """Embedded import → `tailgraph export neo4j-admin` → the real neo4j-admin import into
    an empty Neo4j → the same snapshot; the constraints apply and a transactional re-import
    of the same data on top of the bulk-loaded graph adds nothing."""
    source = tmp_path / "sample"
    write_sample(source, size="tiny", seed=4)
    _write(tmp_path / "tricky", TRICKY)
    embedded = GraphSettings(home=server_home, graph_name="export_source")
    with open_store(embedded) as store:
        store.run("MATCH (n) DETACH DELETE n")
        import_dataset(load_dataset(source), store, tmp_path / "j")
        import_dataset(load_dataset(tmp_path / "tricky"), store, tmp_path / "j")
        expected = take_snapshot(store)
        expected_counts = graph_counts(store)
        store.run("MATCH (n) DETACH DELETE n")

    # The command as a user runs it, against the embedded graph above.
    with open_store(embedded) as store:
        import_dataset(load_dataset(source), store, tmp_path / "j")
        import_dataset(load_dataset(tmp_path / "tricky"), store, tmp_path / "j")
    out = tmp_path / "export"
    result = subprocess.run(
        [sys.executable, "-m", "tailgraph.api.cli", "export", "neo4j-admin", str(out)],
        capture_output=True, text=True, env={**os.environ, **env_for(embedded)}, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "neo4j-admin database import full neo4j @" in result.stdout
    with open_store(embedded) as store:
        store.run("MATCH (n) DETACH DELETE n")

    home = tmp_path / "neo4j-home"
    report = admin_import(home, ["--max-off-heap-memory=256m", f"@{out / 'import.args'}"])
    assert "IMPORT DONE" in report
    server: Neo4jServer = start_neo4j(home)
    try:
        settings = neo4j_settings(server, tmp_path / "tg-home")
        with open_store(settings) as neo4j:
            _frames_equal(take_snapshot(neo4j), expected)
            for statement in split_statements((out / "schema.cypher").read_text()):
                neo4j.run(statement)
            constraints = neo4j.run("SHOW CONSTRAINTS YIELD labelsOrTypes RETURN labelsOrTypes")
            assert sorted(r["labelsOrTypes"][0] for r in constraints) == ["Entity", "Item", "User"]
            import_dataset(load_dataset(source), neo4j, tmp_path / "j2")
            assert graph_counts(neo4j) == expected_counts
            _frames_equal(take_snapshot(neo4j), expected)
    finally:
        server.stop()
