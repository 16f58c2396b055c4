"""Export the graph as the CSV files `neo4j-admin database import full` reads.

For catalogues too large for transactional import into Neo4j: import into the
embedded server (validated, resumable), export, then bulk-load an offline Neo4j:

    tailgraph export neo4j-admin OUT_DIR
    neo4j-admin database import full neo4j @OUT_DIR/import.args
    cypher-shell -u neo4j -f OUT_DIR/schema.cypher      # with the server running

(The database name goes before `@…`: the file groups take every word after them.
Neo4j Community's record format cannot create the constraints during the import, so
`schema.cypher` runs afterwards.)

Files, one header file and one data file per group (Neo4j's header format: `id:ID(Item)`
names the id column and its id space, `:START_ID(User)`/`:END_ID(Item)` the endpoints of
a relationship, `name:type` a property of that type; an empty field is no property):

    nodes/Item.header.csv, nodes/Item.csv          id, title, description, attributes
    nodes/Entity.header.csv, nodes/Entity.csv      id, name, type
    nodes/User.header.csv, nodes/User.csv          id, attributes
    relationships/INTERACTED.header.csv, ….csv     key, ts, weight, rating, kind, context
    relationships/<head>-<REL>-<tail>.header.csv   weight (one group per label pair)
    schema.cypher                                  the uniqueness constraints (run after)
    import.args                                    the options and file groups, one a line

Each label is its own id space, as each label has its own uniqueness constraint in the
graph. Property types come from the values: `boolean`, `long`, `double` when every value
of a column is one, else `string` (a column mixing text and numbers, which Neo4j's
header cannot type, becomes text); strings are always quoted, so text with commas,
quotes or newlines survives (`--multiline-fields=true` is in `import.args`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tailgraph.kg.cypher_files import load_statement
from tailgraph.kg.snapshot import INTERACTION_FIXED
from tailgraph.kg.store import GraphStore

from tailgraph.atomic import atomic_dir


class ExportError(ValueError):
    """A value the CSV format cannot carry (e.g. a list property), with where it is."""


@dataclass
class ExportSummary:
    out_dir: Path
    nodes: dict[str, int]
    relationships: dict[str, int]


def _neo4j_type(values: Iterable[Any]) -> str:
    """The header type of a column: the narrowest of boolean < long < double < string."""
    present = [v for v in values if not _missing(v)]
    if present and all(isinstance(v, bool) for v in present):
        return "boolean"
    if present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return "long"
    if present and all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        return "double"
    return "string"


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _field(value: Any, kind: str, where: str) -> str:
    if _missing(value):
        return ""  # an empty, unquoted field: the property is not set
    if isinstance(value, list | tuple | dict):
        raise ExportError(f"{where}: expected a single value, found {type(value).__name__} "
                          f"{value!r} (list and map properties are not exported)")  # fmt: skip
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "long":
        return str(int(value))
    if kind == "double":
        return repr(float(value))
    text = str(value)
    return '"' + text.replace('"', '""') + '"'


def _write_group(
    folder: Path,
    name: str,
    leading: Sequence[tuple[str, list[Any]]],
    records: Sequence[dict[str, Any]],
    first: Sequence[str],
    group: str,
) -> int:
    """One header file and one data file. `leading` columns (ids) are written as given; the
    property columns are `first`, then every other key of `records` in name order, each
    typed from its values."""
    keys = list(first) + sorted({k for r in records for k in r} - set(first))
    header = [column for column, _ in leading]
    columns: list[tuple[list[Any], str]] = [(values, "string") for _, values in leading]
    for key in keys:
        values = [r.get(key) for r in records]
        kind = _neo4j_type(values)
        header.append(f"{key}:{kind}")
        columns.append((values, kind))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.header.csv").write_text(",".join(header) + "\n", encoding="utf-8")
    with (folder / f"{name}.csv").open("w", encoding="utf-8", newline="") as out:
        for i in range(len(records)):
            out.write(
                ",".join(
                    _field(values[i], kind, f"{group}, row {i + 1}, property {head!r}")
                    for (values, kind), head in zip(columns, header, strict=True)
                )
                + "\n"
            )
    return len(records)


def export_neo4j_admin(store: GraphStore, out_dir: Path, page_size: int = 20_000) -> ExportSummary:
    """Write the graph's nodes and relationships as neo4j-admin import files.

    Read with the snapshot's paged statements (the values keep their graph types: an int
    property stays `long`). Written into a temporary directory beside `out_dir`, then
    renamed: a reader never sees a half-written export, and a failed export leaves the
    previous one as it was.
    """
    out_dir = Path(out_dir)
    if "," in str(out_dir.resolve()):
        # neo4j-admin separates the files of a group with commas.
        raise ExportError(f"{out_dir}: expected a directory path without commas")
    with atomic_dir(out_dir) as tmp:
        return _write_all(store, tmp, out_dir, page_size)


def _write_all(store: GraphStore, tmp: Path, out_dir: Path, page_size: int) -> ExportSummary:
    def rows(name: str) -> list[dict[str, Any]]:
        return list(store.stream_named(name, page_size=page_size))

    nodes_dir, rels_dir = tmp / "nodes", tmp / "relationships"
    nodes: dict[str, int] = {}
    relationships: dict[str, int] = {}
    args = ["--multiline-fields=true"]

    entities = [
        {"id": r["id"], "props": {"name": r["name"], "type": r["type"]}}
        for r in rows("snapshot_entities")
    ]
    node_groups = (
        ("Item", rows("snapshot_items"), ("title", "description")),
        ("Entity", entities, ("name", "type")),
        ("User", rows("snapshot_users"), ()),
    )
    for label, found, first in node_groups:
        records = [{k: v for k, v in r["props"].items() if k != "id"} for r in found]
        leading = [(f"id:ID({label})", [r["id"] for r in found])]
        nodes[label] = _write_group(nodes_dir, label, leading, records, first, f"{label} nodes")
        args.append(_group_arg("nodes", label, nodes_dir, label, out_dir, tmp))

    found = rows("snapshot_interactions")
    leading = [
        (":START_ID(User)", [r["user_id"] for r in found]),
        (":END_ID(Item)", [r["item_id"] for r in found]),
    ]
    relationships["INTERACTED"] = _write_group(
        rels_dir, "INTERACTED", leading, [r["props"] for r in found], INTERACTION_FIXED,
        "INTERACTED relationships",
    )  # fmt: skip
    args.append(_group_arg("relationships", "INTERACTED", rels_dir, "INTERACTED", out_dir, tmp))

    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for r in rows("snapshot_kg_edges"):
        groups.setdefault((r["head_label"], r["relation"], r["tail_label"]), []).append(r)
    for (head, relation, tail), found in sorted(groups.items()):
        name = f"{head}-{relation}-{tail}"
        leading = [
            (f":START_ID({head})", [r["head"] for r in found]),
            (f":END_ID({tail})", [r["tail"] for r in found]),
        ]
        records = [{"weight": r["weight"]} for r in found]
        count = _write_group(
            rels_dir, name, leading, records, ("weight",), f"{relation} relationships"
        )
        relationships[relation] = relationships.get(relation, 0) + count
        args.append(_group_arg("relationships", relation, rels_dir, name, out_dir, tmp))

    (tmp / "schema.cypher").write_text(load_statement("schema", "neo4j"), encoding="utf-8")
    (tmp / "import.args").write_text("\n".join(args) + "\n", encoding="utf-8")
    return ExportSummary(out_dir, nodes, relationships)


def _group_arg(option: str, what: str, folder: Path, name: str, out_dir: Path, tmp: Path) -> str:
    """`--nodes=Item=HEADER,DATA` with the paths they will have once `tmp` is `out_dir`."""
    final = out_dir.resolve() / folder.relative_to(tmp)
    return f"--{option}={what}={final / f'{name}.header.csv'},{final / f'{name}.csv'}"


def import_args(out_dir: Path) -> list[str]:
    """The lines of `import.args`: the options and file groups for `neo4j-admin database
    import full DATABASE` (which also reads them as `@OUT_DIR/import.args`)."""
    return [line for line in (out_dir / "import.args").read_text().splitlines() if line]
