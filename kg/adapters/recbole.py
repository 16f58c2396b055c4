"""RecBole atomic files (`<name>.inter/.item/.user/.kg/.link`) -> canonical `Dataset`.

RecBole atomic files are tab-separated with a typed header (`user_id:token`,
`movie_title:token_seq`, `rating:float`). The `:type` suffix is stripped;
`float` fields become numbers, `token` fields stay strings, and `*_seq` fields
(space-separated) are kept as readable text:

* `.item`: `item_id` -> `items.item_id`; the first `*title*` field (else the first
  `*name*` field) -> `items.title`, text as given; every other field is an item
  attribute column, and a token_seq such as `class` = `Animation Children's Comedy`
  becomes the readable string `"Animation, Children's, Comedy"`.
* `descriptions` (optional JSON `{item_id: text}`) -> `items.description` (`""`
  where an item has none). A key that is not an item id is an error: it means the
  file uses another id space.
* `.user` -> `users`, every field kept (`age` stays the declared token string).
  Without a `.user` file the users are the ids seen in `.inter`.
* `.inter` -> `interactions`: `user_id`, `item_id`, `rating`, `timestamp` (whole
  float seconds become int64 unix seconds), any other field as a context column.
  Item ids seen only in `.inter` get an item row titled with the id.
* `.kg` (`head_id`, `relation_id`, `tail_id`) + `.link` (`item_id`, `entity_id`)
  -> `triples` and `entities`, as follows.

KG conversion:

* `.link` maps an item to its KG entity. A `.kg` head or tail that is linked to an
  item becomes that item's `item_id`, so items join the KG; every other id becomes
  an entity (optionally prefixed with `entity_prefix`, to keep it apart from item
  ids). An entity linked to several items gives one triple per item.
* Orientation is kept as given. The ML-100K KG (RecBole's MovieLens-KG, 1-hop
  Freebase) stores most facts in both directions: `film.film.directed_by`
  (film -> director) and its inverse `film.director.film` (director -> film) each
  hold the same 1,727 pairs. So the triples contain entity -> item edges as well
  as item -> entity edges, and half of them mirror the other half.
* Relation names become upper-snake identifiers (`film.film.directed_by` ->
  `FILM_FILM_DIRECTED_BY`, see `kg.adapters._io.safe_relation_name`), which the
  importer accepts as Cypher relationship types.
* Entities are opaque Freebase MIDs (`m.0bln8`): their `name` is left empty (no
  made-up names). Their `type` follows the Freebase schema where the data lets
  us derive it: a property `/domain/type/property` belongs to the type
  `/domain/type`, so the head of `film.director.film` is a `film.director`.
  A tail gets the head type of the relation that mirrors it in the data (the tail
  of `film.film.directed_by` is the head of `film.director.film`; mirror = at
  least 80 % of the smaller relation's pairs reversed). An entity seen in several
  roles takes the type of the role with most triples (ties: alphabetical).
  Entities with no derivable type (e.g. tails of `film.film.country`,
  `film.film.award_won`, which have no mirror in the data) get the neutral type
  `freebase`.
* Names for explanations: the Freebase files have none. `dbpedia_links` (TSV, `item_id`
  and `dbpedia_uri`) and `dbpedia_kg` (TSV, `head_uri`, `relation`, `tail_uri`) add a
  DBpedia KG whose entities are named by their resource (`dbpedia:Zhao_Fei`, "Zhao
  Fei") and typed by relation (`dbo:starring` → actor); for ML-100K these are
  `derived/ml-100k_to_ml1m_dbpedia.tsv` and `derived/ml-100k_dbpedia.kg.tsv`.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from tailgraph.kg.adapters._io import joined_sources, read_delimited, read_text, relation_names
from tailgraph.kg.dataset import Dataset
from tailgraph.kg.errors import DatasetError

RECBOLE_TYPES: tuple[str, ...] = ("token", "token_seq", "float", "float_seq")
UNTYPED_ENTITY = "freebase"
# Share of the smaller relation's pairs that must appear reversed in the other to call
# the two relations inverses (ML-100K: 100 % for every mirrored pair, 5 of 6 for actors).
MIRROR_SHARE = 0.8


def load_recbole(
    src_dir: Path,
    *,
    descriptions: Path | None = None,
    entity_prefix: str = "",
    field_sep: str = "\t",
    seq_sep: str = " ",
    dbpedia_links: Path | None = None,
    dbpedia_kg: Path | None = None,
) -> Dataset:
    """Convert the RecBole atomic files in `src_dir` (one file per suffix) to a `Dataset`;
    with `dbpedia_links` and `dbpedia_kg`, add the DBpedia triples (`read_dbpedia_kg`)."""
    src_dir = Path(src_dir)
    if not src_dir.is_dir():
        raise DatasetError(str(src_dir), None, None, "a directory of RecBole atomic files", "none")
    files = {suffix: find_atomic_file(src_dir, suffix) for suffix in ("inter", "item", "user")}
    kg_file, link_file = find_atomic_file(src_dir, "kg"), find_atomic_file(src_dir, "link")
    if (dbpedia_links is None) != (dbpedia_kg is None):
        raise ValueError("recbole options dbpedia_links and dbpedia_kg: expected both or neither")
    if files["item"] is None and files["inter"] is None:
        raise DatasetError(
            str(src_dir), None, None, "a RecBole .item or .inter file", "neither (no items)"
        )
    sources: dict[str, str] = {}
    header_rows: dict[str, int] = {}

    interactions = None
    if (path := files["inter"]) is not None:
        interactions = read_interactions(path, field_sep, seq_sep)
        sources["interactions"], header_rows["interactions"] = str(path), 1

    items = read_items(files["item"], field_sep, seq_sep) if files["item"] else None
    items = add_missing_items(items, interactions)
    item_sources = [p for p in (files["item"], files["inter"]) if p is not None][:1]
    if descriptions is not None:
        items = add_descriptions(items, Path(descriptions))
        item_sources.append(Path(descriptions))
    sources["items"] = joined_sources(item_sources)
    if files["item"] is not None:
        header_rows["items"] = 1

    users = None
    if (path := files["user"]) is not None:
        users = read_atomic(path, field_sep, seq_sep, required=("user_id",), id_field="user_id")
        sources["users"], header_rows["users"] = str(path), 1
    elif interactions is not None:
        # No .user file: the users are those who interacted, with no attributes.
        users = pd.DataFrame({"user_id": interactions["user_id"].drop_duplicates()})
        users = users.reset_index(drop=True)
        sources["users"] = str(files["inter"])

    triples = entities = None
    if kg_file is not None:
        triples, entities = read_kg(
            kg_file, link_file, set(items["item_id"]), entity_prefix, field_sep
        )
        kg_sources = [kg_file] + ([link_file] if link_file else [])
        sources["triples"] = sources["entities"] = joined_sources(kg_sources)
    if dbpedia_links is not None and dbpedia_kg is not None:
        more_triples, more_entities = read_dbpedia_kg(
            Path(dbpedia_links), Path(dbpedia_kg), set(items["item_id"])
        )
        triples = more_triples if triples is None else pd.concat([triples, more_triples])
        entities = more_entities if entities is None else pd.concat([entities, more_entities])
        triples, entities = triples.reset_index(drop=True), entities.reset_index(drop=True)
        dbpedia_sources = [Path(dbpedia_kg), Path(dbpedia_links)]
        earlier = [sources["triples"]] if "triples" in sources else []
        sources["triples"] = sources["entities"] = "; ".join(
            [*earlier, joined_sources(dbpedia_sources)]
        )

    return Dataset(
        items=items,
        entities=entities,
        triples=triples,
        users=users,
        interactions=interactions,
        sources=sources,
        header_rows=header_rows,
    )


def find_atomic_file(src_dir: Path, suffix: str) -> Path | None:
    found = sorted(src_dir.glob(f"*.{suffix}"))
    if len(found) > 1:
        names = ", ".join(p.name for p in found)
        raise DatasetError(str(src_dir), None, None, f"at most one .{suffix} file", names)
    return found[0] if found else None


def read_atomic(
    path: Path,
    field_sep: str,
    seq_sep: str,
    *,
    required: tuple[str, ...] = (),
    id_field: str | None = None,
    keep_seq: tuple[str, ...] = (),
) -> pd.DataFrame:
    """One atomic file: header types stripped, floats parsed, `*_seq` fields joined with ", "."""
    df = read_delimited(path, sep=field_sep)
    types: dict[str, str] = {}
    for header in df.columns:
        name, _, ftype = header.rpartition(":")
        if not name or ftype not in RECBOLE_TYPES:
            raise DatasetError(
                str(path),
                1,
                header,
                f"a typed header field 'name:type' with type in {', '.join(RECBOLE_TYPES)}",
                repr(header),
            )
        if name in types:
            raise DatasetError(str(path), 1, name, "unique field names", f"{name!r} twice")
        types[name] = ftype
    df.columns = list(types)
    for name in required:
        if name not in types:
            raise DatasetError(str(path), 1, name, f"a {name!r} field", ", ".join(types))
    for name, ftype in types.items():
        if ftype == "float":
            df[name] = parse_floats(df[name], path, name).astype("float64")
        elif ftype.endswith("_seq") and name not in keep_seq:
            # "Animation Children's Comedy" -> "Animation, Children's, Comedy": one readable string.
            df[name] = df[name].str.strip().str.replace(f"(?:{seq_sep})+", ", ", regex=True)
    if id_field is not None:
        check_unique(df, id_field, path)
    return df


def parse_floats(column: pd.Series, path: Path, name: str) -> pd.Series:
    empty = column.str.strip() == ""
    parsed = pd.to_numeric(column.mask(empty), errors="coerce")
    bad = parsed.isna() & ~empty
    if bad.any():
        row = int(bad.to_numpy().argmax())
        raise DatasetError(str(path), row + 2, name, "a number", repr(column.iloc[row]))
    return parsed


def check_unique(df: pd.DataFrame, id_field: str, path: Path) -> None:
    repeated = df[id_field].duplicated()
    if repeated.any():
        row = int(repeated.to_numpy().argmax())
        value = df[id_field].iloc[row]
        raise DatasetError(str(path), row + 2, id_field, "each id once", f"{value!r} again")


def read_items(path: Path, field_sep: str, seq_sep: str) -> pd.DataFrame:
    header = read_delimited(path, sep=field_sep).columns
    names = [h.rpartition(":")[0] for h in header]
    title = next((n for n in names if "title" in n.lower() and n != "item_id"), None)
    title = title or next((n for n in names if "name" in n.lower() and n != "item_id"), None)
    items = read_atomic(
        path,
        field_sep,
        seq_sep,
        required=("item_id",),
        id_field="item_id",
        keep_seq=(title,) if title else (),
    )
    if title is None:
        # No text field at all: the id is the only honest label.
        items.insert(1, "title", items["item_id"])
    else:
        titles = items.pop(title)
        items.insert(1, "title", titles.str.strip())
    return items


def read_interactions(path: Path, field_sep: str, seq_sep: str) -> pd.DataFrame:
    inter = read_atomic(path, field_sep, seq_sep, required=("user_id", "item_id"))
    if "timestamp" in inter.columns:
        stamps = inter["timestamp"]
        # RecBole declares timestamps as float; whole seconds read better as integers.
        if stamps.notna().all() and (stamps == stamps.round()).all():
            inter["timestamp"] = stamps.astype("int64")
    return inter


def add_missing_items(items: pd.DataFrame | None, inter: pd.DataFrame | None) -> pd.DataFrame:
    """Items that only appear in `.inter` get a row, titled with their id (nothing invented)."""
    known = items if items is not None else pd.DataFrame({"item_id": [], "title": []}, dtype=str)
    if inter is None:
        return known
    missing = inter.loc[~inter["item_id"].isin(known["item_id"]), "item_id"].drop_duplicates()
    if missing.empty:
        return known
    extra = pd.DataFrame({"item_id": missing.to_numpy(), "title": missing.to_numpy()}, dtype=str)
    return pd.concat([known, extra], ignore_index=True)


def add_descriptions(items: pd.DataFrame, path: Path) -> pd.DataFrame:
    texts = read_description_json(path)
    unknown = sorted(set(texts) - set(items["item_id"]))
    if unknown:
        raise DatasetError(
            str(path),
            None,
            None,
            "keys that are item ids of this dataset",
            f"{len(unknown)} unknown key(s), e.g. {unknown[0]!r}",
        )
    items = items.copy()
    description = items["item_id"].map(texts).fillna("").astype("str")
    items.insert(items.columns.get_loc("title") + 1, "description", description)
    return items


def read_description_json(path: Path) -> dict[str, str]:
    """A JSON object {item_id: text}; shared with other adapters."""
    try:
        texts = json.loads(read_text(path))
    except json.JSONDecodeError as err:
        raise DatasetError(str(path), err.lineno, None, "valid JSON", err.msg) from None
    if not isinstance(texts, dict) or not all(isinstance(v, str) for v in texts.values()):
        raise DatasetError(str(path), None, None, "a JSON object {item_id: text}", "other JSON")
    return {str(key): value.strip() for key, value in texts.items()}


def read_kg(
    kg_path: Path,
    link_path: Path | None,
    item_ids: set[str],
    entity_prefix: str,
    field_sep: str,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    raw = read_atomic(kg_path, field_sep, " ", required=("head_id", "relation_id", "tail_id"))
    raw = raw.rename(columns={"head_id": "head", "relation_id": "relation", "tail_id": "tail"})
    raw = raw[["head", "relation", "tail"]]

    # entity id -> item ids; only links to items this dataset has.
    links = pd.DataFrame({"entity": pd.Series([], dtype=str), "item": pd.Series([], dtype=str)})
    if link_path is not None:
        link = read_atomic(link_path, field_sep, " ", required=("item_id", "entity_id"))
        links = pd.DataFrame({"entity": link["entity_id"], "item": link["item_id"]})
        links = links[links["item"].isin(item_ids)].drop_duplicates()

    raw_ids = pd.concat([raw["head"], raw["tail"]]).drop_duplicates()
    unlinked = raw_ids[~raw_ids.isin(links["entity"])]
    clash = unlinked[(entity_prefix + unlinked).isin(item_ids)]
    if not clash.empty:
        # A KG id equal to an item id but not linked to it would silently merge two nodes.
        raise DatasetError(
            str(kg_path),
            None,
            None,
            "KG ids distinct from item ids (pass entity_prefix=... to keep them apart)",
            f"{clash.iloc[0]!r}, also an item id",
        )

    safe = relation_names(raw["relation"], str(kg_path))
    triples = raw.assign(relation=raw["relation"].map(safe))
    for end in ("head", "tail"):
        triples = link_end(triples, end, links, entity_prefix)
    triples = triples.drop_duplicates(ignore_index=True)

    ids = pd.concat([triples["head"], triples["tail"]])
    entity_ids = ids[~ids.isin(item_ids)].drop_duplicates()
    types = freebase_types(triples, item_ids, {v: k for k, v in safe.items()})
    entities = pd.DataFrame(
        {
            "entity_id": entity_ids.to_numpy(),
            "name": "",
            "type": types.reindex(entity_ids.to_numpy()).fillna(UNTYPED_ENTITY).to_numpy(),
        }
    ).astype("str")
    entities = entities.sort_values("entity_id", ignore_index=True)
    return triples, entities


def link_end(
    triples: pd.DataFrame, end: str, links: pd.DataFrame, entity_prefix: str
) -> pd.DataFrame:
    """Replace a linked KG id at `end` by its item id(s); prefix the others."""
    merged = triples.merge(links, how="left", left_on=end, right_on="entity")
    is_item = merged["item"].notna()
    merged[end] = merged["item"].where(is_item, entity_prefix + merged[end])
    return merged[["head", "relation", "tail"]]


def freebase_types(
    triples: pd.DataFrame, item_ids: set[str], original: dict[str, str]
) -> pd.Series:
    """entity id -> Freebase type derived from the relations it heads (or mirrors)."""
    # Freebase property "domain.type.property" -> its subject type "domain.type".
    head_type = {
        safe: raw.rsplit(".", 1)[0] if raw.count(".") >= 2 else None
        for safe, raw in original.items()
    }
    schema_type = triples["relation"].map(head_type)
    roles = [pd.DataFrame({"entity": triples["head"], "type": schema_type})]

    # Inverse relations: pairs (r1, r2) whose triples appear reversed in each other.
    forward = triples[["head", "relation", "tail"]]
    backward = forward.rename(columns={"head": "tail", "tail": "head", "relation": "inverse"})
    mirrored = forward.merge(backward, on=["head", "tail"])
    pair_counts = mirrored.groupby(["relation", "inverse"]).size().rename("pairs").reset_index()
    sizes = triples["relation"].value_counts().to_dict()
    smaller = [
        min(sizes[r1], sizes[r2])
        for r1, r2 in zip(pair_counts["relation"], pair_counts["inverse"], strict=True)
    ]
    inverses = pair_counts[pair_counts["pairs"].to_numpy() >= MIRROR_SHARE * np.array(smaller)]
    inverses = inverses.sort_values("pairs", ascending=False).drop_duplicates("relation")
    tail_type = inverses.set_index("relation")["inverse"].map(head_type)
    tails = pd.DataFrame({"entity": triples["tail"], "type": triples["relation"].map(tail_type)})
    roles.append(tails)

    role = pd.concat(roles, ignore_index=True).dropna()
    role = role[~role["entity"].isin(item_ids)]
    counts = role.groupby(["entity", "type"]).size().rename("n").reset_index()
    counts = counts.sort_values(["entity", "n", "type"], ascending=[True, False, True])
    return counts.drop_duplicates("entity").set_index("entity")["type"]


# DBpedia tail type per relation (local name) of the derived ML-100K KG.
DBPEDIA_FILM_TYPES: dict[str, str] = {
    "director": "director",
    "starring": "actor",
    "writer": "writer",
    "producer": "producer",
    "musicComposer": "composer",
    "cinematography": "cinematographer",
    "editing": "editor",
    "distributor": "distributor",
}
UNTYPED_DBPEDIA = "dbpedia"


def read_dbpedia_kg(
    links_path: Path, kg_path: Path, item_ids: set[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """DBpedia triples with readable entity names: `links_path` maps items to DBpedia URIs
    (TSV with `item_id` and `dbpedia_uri`, empty where an item has none), `kg_path` holds
    `head_uri`, `relation`, `tail_uri` (relation `dbo:director`, …). A URI linked to an item
    becomes that item; any other is the entity `dbpedia:<resource>` named by its resource
    (`dbpedia:Zhao_Fei` → "Zhao Fei"), typed by the relation it is the tail of."""
    # Imported here: the Last.fm adapter imports this module (`link_end`).
    from tailgraph.kg.adapters.lastfm import dbpedia_entity, decode_uri, require_columns

    links = read_delimited(links_path, sep="\t")
    require_columns(links, ("item_id", "dbpedia_uri"), links_path)
    links = links[(links["dbpedia_uri"] != "") & links["item_id"].isin(item_ids)]
    links = pd.DataFrame({"entity": links["dbpedia_uri"].map(decode_uri), "item": links["item_id"]})
    links = links.drop_duplicates()
    raw = read_delimited(kg_path, sep="\t")
    require_columns(raw, ("head_uri", "relation", "tail_uri"), kg_path)
    edges = pd.DataFrame(
        {
            "head": raw["head_uri"].map(decode_uri),
            "local": raw["relation"].str.rpartition(":")[2],
            "tail": raw["tail_uri"].map(decode_uri),
        }
    )
    # Heads are films; a head no item links to belongs to a film outside this catalogue.
    edges = edges[edges["head"].isin(links["entity"])]
    names = relation_names(raw["relation"], str(kg_path))
    edges["relation"] = raw.loc[edges.index, "relation"].map(names)
    roles = pd.DataFrame(
        {
            "uri": edges["tail"],
            "type": edges["local"].map(DBPEDIA_FILM_TYPES).fillna(UNTYPED_DBPEDIA),
        }
    )
    triples = edges[["head", "relation", "tail"]]
    for end in ("head", "tail"):
        triples = link_end(triples, end, links, "")
    triples = triples[triples["head"] != triples["tail"]].drop_duplicates(ignore_index=True)
    tails = triples.loc[~triples["tail"].isin(item_ids), "tail"].drop_duplicates()
    named = pd.Series([dbpedia_entity(u) for u in tails], index=tails.to_numpy())
    counts = roles[roles["uri"].isin(tails)].groupby(["uri", "type"]).size().rename("n")
    counts = counts.reset_index().sort_values(["uri", "n", "type"], ascending=[True, False, True])
    types = counts.drop_duplicates("uri").set_index("uri")["type"]
    entities = pd.DataFrame(
        {
            "entity_id": named.str[0].to_numpy(),
            "name": named.str[1].to_numpy(),
            "type": types.reindex(tails.to_numpy()).fillna(UNTYPED_DBPEDIA).to_numpy(),
        }
    ).astype("str")
    entity_id = pd.Series(entities["entity_id"].to_numpy(), index=tails.to_numpy())
    triples["tail"] = triples["tail"].map(entity_id).fillna(triples["tail"]).astype("str")
    return triples, entities.sort_values("entity_id", ignore_index=True)
