"""Last.fm HetRec-2011 (2k users) + DBpedia / Satori KGs + CoLaKG descriptions -> `Dataset`.

Layout (`../shared/data/lastfm_hetrec_kg`, see its SOURCE.md):

* `artists.dat` (`id, name, url, pictureURL`) -> `items`: `item_id` = artist id,
  `title` = name, `url` kept as an attribute. `pictureURL` is left out (image links,
  no text signal).
* `user_artists.dat` (`userID, artistID, weight`) -> `interactions` with
  `weight` = play count (int). There are no timestamps in this dataset.
  `users` = the distinct user ids (HetRec has no user attributes).
* `user_friends.dat` (the social graph) is not part of the canonical schema and
  is left out.
* `kg="dbpedia"`: `dbpedia/dbo:<relation>.edgelist` files (`head_uri tail_uri`,
  one file per relation) -> `triples`. The relation comes from the file name:
  `dbo:recordLabel` -> `RECORD_LABEL` (namespace dropped, camelCase split, upper
  snake; see `kg.adapters._io.safe_relation_name`). Artists are linked through
  `dbpedia/MappingLastfm2DBpedia-1.2.tsv` (artist id, name, URI): an endpoint
  whose URI belongs to an artist becomes that artist's `item_id` (one triple per
  artist when several HetRec artists share a URI, e.g. duplicated artists).
  Every other URI becomes an entity `dbpedia:<resource>` (e.g. `dbpedia:Dance_music`)
  named from the URI ("Dance music": percent-encoding decoded, `_` -> space,
  disambiguation such as "(band)" kept). The few non-DBpedia URLs in the
  edge lists (Facebook/MySpace pages given as associated bands) keep the URL as
  both id and name. Entity type comes from the relation the entity is the tail
  of: genre -> `genre`, recordLabel -> `record_label`, hometown/birthPlace ->
  `place`, bandMember/formerBandMember/associatedBand/associatedMusicalArtist ->
  `artist`, occupation -> `occupation`, instrument -> `instrument`; heads are
  artists. An entity in several roles takes its most frequent one (ties in the
  order of `DBPEDIA_TYPES`). 360 URIs are shared by 759 HetRec artists
  (duplicate artist ids such as two "Akon"s), so their edges repeat per artist;
  the 58 self-loops in the source (`X formerBandMember X` and the like) are
  dropped: 110,921 edge lines -> 118,594 triples.
* `kg="satori"`: `satori_kgcn/kg.txt` (`head relation tail`, integer ids) with
  `item_index2entity_id.txt` (artist id -> entity id): linked ids become item ids,
  the others entities `satori:<n>` with an empty name (the ids are anonymised,
  nothing to name them by) and type `satori`. Relation names are made safe the
  same way (`music.artist.origin` -> `MUSIC_ARTIST_ORIGIN`). `kg="both"` adds
  both graphs (their entity ids never collide: different prefixes); `kg="none"`
  adds none.
* `descriptions=True`: `colakg/llm_response_item.json` (LLM-written artist
  descriptions, 2,813) -> `items.description` (`""` elsewhere). Its keys are
  CoLaKG's remapped item indices, not artist ids: `colakg/item_map.txt` maps
  artist id -> index. Checked on the data: through the map the artist's name
  (compared as lower-case letters and digits, so "Guns N Roses" matches
  "Guns N' Roses") is in the first 300 characters of 2,811 of the 2,813 texts;
  with the keys read as artist ids, in only 28.
  The adapter repeats that check and refuses the file if names do not match.

Encodings: every file is decoded as strict UTF-8 (`read_text`), CRLF endings
(`user_artists.dat`, Satori files) become LF. `readme.txt` is ISO-8859-1 but is
not read. `artists.dat` is valid UTF-8 but three names are mojibake: one is
UTF-8 that was decoded as Latin-1 once too often ("BallakÃ© Sissoko") and is
repaired to "Ballaké Sissoko" (only names that re-encode to Latin-1 *and* then
decode as UTF-8 are touched, which ordinary accented names never do); two are
GBK bytes read as Latin-1 ("Ö²ËÉÉì·ò" is 植松伸夫) and are left as they are,
because the original encoding cannot be told for certain. The DBpedia mapping
percent-encodes its URIs, some twice (`Hossein_Aliz%25C3%25A2deh`), while the
edge lists use plain Unicode IRIs, so both are decoded (repeatedly) before matching.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pandas as pd
from tailgraph.kg.adapters._io import joined_sources, read_delimited, relation_names
from tailgraph.kg.adapters.recbole import link_end, read_description_json
from tailgraph.kg.dataset import Dataset
from tailgraph.kg.errors import DatasetError

DBPEDIA_RESOURCE = "http://dbpedia.org/resource/"
# Tail type per DBpedia relation (local name); the order breaks ties between roles.
DBPEDIA_TYPES: dict[str, str] = {
    "bandMember": "artist",
    "formerBandMember": "artist",
    "associatedBand": "artist",
    "associatedMusicalArtist": "artist",
    "genre": "genre",
    "recordLabel": "record_label",
    "hometown": "place",
    "birthPlace": "place",
    "instrument": "instrument",
    "occupation": "occupation",
}
KG_CHOICES: tuple[str, ...] = ("dbpedia", "satori", "both", "none")
# UTF-8 lead byte (Â..ô) followed by a continuation byte, both seen as Latin-1 characters.
MOJIBAKE = re.compile(r"[\u00c2-\u00f4][\u0080-\u00bf]")


def load_lastfm_hetrec(src_dir: Path, *, kg: str = "dbpedia", descriptions: bool = True) -> Dataset:
    """Convert the HetRec Last.fm layout in `src_dir` (see module docstring) to a `Dataset`."""
    src_dir = Path(src_dir)
    if kg not in KG_CHOICES:
        raise ValueError(f"kg: expected one of {', '.join(KG_CHOICES)}; found {kg!r}")
    if not src_dir.is_dir():
        raise DatasetError(str(src_dir), None, None, "the HetRec Last.fm directory", "none")

    artists_path = src_dir / "artists.dat"
    artists = read_delimited(artists_path, sep="\t")
    require_columns(artists, ("id", "name", "url"), artists_path)
    items = pd.DataFrame(
        {"item_id": artists["id"], "title": repair_mojibake(artists["name"]), "url": artists["url"]}
    )
    item_sources = [artists_path]
    if descriptions:
        json_path = src_dir / "colakg" / "llm_response_item.json"
        map_path = src_dir / "colakg" / "item_map.txt"
        text = colakg_descriptions(json_path, map_path, items)
        items.insert(2, "description", items["item_id"].map(text).fillna("").astype("str"))
        item_sources += [json_path, map_path]

    plays_path = src_dir / "user_artists.dat"
    plays = read_delimited(plays_path, sep="\t")
    require_columns(plays, ("userID", "artistID", "weight"), plays_path)
    interactions = pd.DataFrame(
        {
            "user_id": plays["userID"],
            "item_id": plays["artistID"],
            "weight": parse_ints(plays["weight"], plays_path, "weight"),
        }
    )
    users = pd.DataFrame({"user_id": interactions["user_id"].drop_duplicates().to_numpy()})

    sources = {
        "items": joined_sources(item_sources),
        "interactions": str(plays_path),
        "users": str(plays_path),
    }
    parts: list[tuple[pd.DataFrame, pd.DataFrame, list[Path]]] = []
    if kg in ("dbpedia", "both"):
        parts.append(dbpedia_kg(src_dir / "dbpedia", items["item_id"]))
    if kg in ("satori", "both"):
        parts.append(satori_kg(src_dir / "satori_kgcn", items["item_id"]))
    triples = entities = None
    if parts:
        triples = pd.concat([p[0] for p in parts], ignore_index=True)
        entities = pd.concat([p[1] for p in parts], ignore_index=True)
        sources["triples"] = sources["entities"] = joined_sources(
            path for part in parts for path in part[2]
        )
    return Dataset(
        items=items,
        entities=entities,
        triples=triples,
        users=users,
        interactions=interactions,
        sources=sources,
        header_rows={"items": 1, "interactions": 1},
    )


def require_columns(df: pd.DataFrame, columns: tuple[str, ...], path: Path) -> None:
    for column in columns:
        if column not in df.columns:
            raise DatasetError(str(path), 1, column, f"a {column!r} column", ", ".join(df.columns))


def parse_ints(column: pd.Series, path: Path, name: str) -> pd.Series:
    ok = column.str.fullmatch(r"\s*\d+\s*")
    if not ok.all():
        row = int((~ok).to_numpy().argmax())
        raise DatasetError(str(path), row + 2, name, "a whole number", repr(column.iloc[row]))
    return column.astype("int64")


def repair_mojibake(names: pd.Series) -> pd.Series:
    """Undo UTF-8 text that was decoded as Latin-1 ("BallakÃ© Sissoko" -> "Ballaké Sissoko")."""

    def repair(name: str) -> str:
        try:
            return name.encode("latin-1").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            return name

    suspect = names.str.contains(MOJIBAKE)
    return names.where(~suspect, names[suspect].map(repair))


def colakg_descriptions(json_path: Path, map_path: Path, items: pd.DataFrame) -> dict[str, str]:
    """artist id -> LLM description; the JSON is keyed by CoLaKG's remapped item index."""
    texts = read_description_json(json_path)
    index_map = read_delimited(map_path, sep=" ", names=["item_id", "index"])
    artist_of_index = dict(zip(index_map["index"], index_map["item_id"], strict=True))
    unknown = [key for key in texts if key not in artist_of_index]
    if unknown:
        raise DatasetError(
            str(json_path),
            None,
            None,
            f"keys that are CoLaKG item indices listed in {map_path.name}",
            f"{len(unknown)} unknown key(s), e.g. {unknown[0]!r}",
        )
    by_artist = {artist_of_index[key]: text for key, text in texts.items()}
    # Guard against a file in another id space: the artist's name should start the text.
    titles = dict(zip(items["item_id"], items["title"], strict=True))
    matches = sum(
        squash(titles.get(artist, "\0")) in squash(text[:300]) for artist, text in by_artist.items()
    )
    if matches < 0.5 * len(by_artist):
        raise DatasetError(
            str(json_path),
            None,
            None,
            "descriptions that name their artist (keys mapped through item_map.txt)",
            f"the artist's name in only {matches} of {len(by_artist)} texts",
        )
    return by_artist


def squash(text: str) -> str:
    """Lower-case letters and digits only, so "Guns N Roses" matches "Guns N' Roses"."""
    return re.sub(r"[\W_]+", "", text.lower())


def decode_uri(uri: str) -> str:
    """Percent-decode until stable (the mapping file encodes some URIs twice)."""
    for _ in range(3):
        decoded = unquote(uri)
        if decoded == uri:
            break
        uri = decoded
    return uri


def dbpedia_entity(uri: str) -> tuple[str, str]:
    """(entity id, readable name) for a decoded URI."""
    if uri.startswith(DBPEDIA_RESOURCE):
        resource = uri.removeprefix(DBPEDIA_RESOURCE)
        return f"dbpedia:{resource}", resource.replace("_", " ")
    return uri, uri


def dbpedia_kg(kg_dir: Path, item_ids: pd.Series) -> tuple[pd.DataFrame, pd.DataFrame, list[Path]]:
    mapping_path = kg_dir / "MappingLastfm2DBpedia-1.2.tsv"
    mapping = read_delimited(mapping_path, sep="\t", names=["item", "name", "uri"])
    mapping = mapping[mapping["item"].isin(item_ids)]

    edge_files = sorted(kg_dir.glob("dbo:*.edgelist"))
    if not edge_files:
        raise DatasetError(str(kg_dir), None, None, "dbo:<relation>.edgelist files", "none")
    frames = []
    for path in edge_files:
        edges = read_delimited(path, sep=" ", names=["head", "tail"])
        frames.append(edges.assign(local=path.stem.partition(":")[2]))
    edges = pd.concat(frames, ignore_index=True)

    # Decode each distinct URI once (about 38k), not once per edge.
    uris = pd.concat([edges["head"], edges["tail"], mapping["uri"]]).drop_duplicates()
    decoded = pd.Series([decode_uri(u) for u in uris], index=uris.to_numpy())
    for end in ("head", "tail"):
        edges[end] = edges[end].map(decoded)
    links = pd.DataFrame({"entity": mapping["uri"].map(decoded), "item": mapping["item"]})
    links = links.drop_duplicates()

    names = relation_names(edges["local"], str(kg_dir))
    edges["relation"] = edges["local"].map(names)
    # Which role each URI plays, before linking replaces artist URIs by item ids.
    roles = pd.concat(
        [
            pd.DataFrame({"uri": edges["head"], "type": "artist"}),
            pd.DataFrame({"uri": edges["tail"], "type": edges["local"].map(DBPEDIA_TYPES)}),
        ],
        ignore_index=True,
    )
    triples = edges[["head", "relation", "tail"]]
    for end in ("head", "tail"):
        triples = link_end(triples, end, links, "")
    triples = triples[triples["head"] != triples["tail"]].drop_duplicates(ignore_index=True)

    ids = pd.concat([triples["head"], triples["tail"]]).drop_duplicates()
    entity_uris = ids[~ids.isin(item_ids)]
    named = pd.Series([dbpedia_entity(u) for u in entity_uris], index=entity_uris.to_numpy())
    types = most_frequent_type(roles[roles["uri"].isin(entity_uris)])
    entities = pd.DataFrame(
        {
            "entity_id": named.str[0].to_numpy(),
            "name": named.str[1].to_numpy(),
            "type": types.reindex(entity_uris.to_numpy()).to_numpy(),
        }
    ).astype("str")
    entity_id = pd.Series(entities["entity_id"].to_numpy(), index=entity_uris.to_numpy())
    for end in ("head", "tail"):
        triples[end] = triples[end].map(entity_id).fillna(triples[end]).astype("str")
    entities = entities.sort_values("entity_id", ignore_index=True)
    return triples, entities, [mapping_path, *edge_files]


def most_frequent_type(roles: pd.DataFrame) -> pd.Series:
    """uri -> type it has in most triples; ties go to the earlier type in `DBPEDIA_TYPES`."""
    rank = {t: i for i, t in enumerate(dict.fromkeys(["artist", *DBPEDIA_TYPES.values()]))}
    counts = roles.groupby(["uri", "type"]).size().rename("n").reset_index()
    counts["rank"] = counts["type"].map(rank)
    counts = counts.sort_values(["uri", "n", "rank"], ascending=[True, False, True])
    return counts.drop_duplicates("uri").set_index("uri")["type"]


def satori_kg(kg_dir: Path, item_ids: pd.Series) -> tuple[pd.DataFrame, pd.DataFrame, list[Path]]:
    kg_path, index_path = kg_dir / "kg.txt", kg_dir / "item_index2entity_id.txt"
    index = read_delimited(index_path, sep="\t", names=["item", "entity"])
    links = index[index["item"].isin(item_ids)][["entity", "item"]].drop_duplicates()
    raw = read_delimited(kg_path, sep="\t", names=["head", "relation", "tail"])
    names = relation_names(raw["relation"], str(kg_path))
    triples = raw.assign(relation=raw["relation"].map(names))
    for end in ("head", "tail"):
        triples = link_end(triples, end, links, "satori:")
    triples = triples[triples["head"] != triples["tail"]].drop_duplicates(ignore_index=True)
    ids = pd.concat([triples["head"], triples["tail"]]).drop_duplicates()
    entity_ids = ids[~ids.isin(item_ids)].sort_values(ignore_index=True)
    entities = pd.DataFrame({"entity_id": entity_ids, "name": "", "type": "satori"}).astype("str")
    return triples, entities, [kg_path, index_path]
