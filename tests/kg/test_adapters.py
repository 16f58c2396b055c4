"""Adapters on the real datasets (read in place from ../shared/data) and the canonical reader."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd
import pytest
from tailgraph.kg.adapters import ADAPTERS, load_dataset, safe_relation_name
from tailgraph.kg.adapters._io import relation_names
from tailgraph.kg.dataset import TABLES, Dataset
from tailgraph.kg.errors import DatasetError
from tailgraph.kg.validate import validate

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED_DATA = Path(os.environ.get("TAILGRAPH_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))
ML100K = SHARED_DATA / "ml100k_kg"
ML100K_DESCRIPTIONS = ML100K / "derived" / "ml-100k_llm_desc_from_colakg.json"
LASTFM = SHARED_DATA / "lastfm_hetrec_kg"
SAFE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


# The real datasets sit beside the repository in CI and on every dev machine; a missing
# directory is a set-up error to see, not a reason to skip the adapters' tests.
def test_shared_datasets_are_present() -> None:
    assert ML100K.is_dir(), f"{ML100K} missing: the adapters cannot be tested"
    assert LASTFM.is_dir(), f"{LASTFM} missing: the adapters cannot be tested"


def nothing_in_graph(label: str, ids: list[str]) -> set[str]:
    return set()


def check_graph_shape(ds: Dataset) -> None:
    """Invariants every adapter output must meet, whatever the source."""
    assert ds.entities is not None and ds.triples is not None
    item_ids = set(ds.items["item_id"])
    entity_ids = set(ds.entities["entity_id"])
    assert not item_ids & entity_ids, "an id is both an item and an entity"
    assert ds.items["item_id"].is_unique and ds.entities["entity_id"].is_unique
    ends = set(ds.triples["head"]) | set(ds.triples["tail"])
    assert ends <= item_ids | entity_ids
    assert all(SAFE.match(r) for r in ds.triples["relation"].unique())
    assert not ds.triples.duplicated().any()
    for table in ds.tables():
        for path in ds.sources[table].split("; "):
            assert Path(path).is_file(), path


# ---- RecBole: MovieLens-100K + Freebase ---------------------------------------------------


@pytest.fixture(scope="module")
def ml100k() -> Dataset:
    return load_dataset(ML100K, "recbole", descriptions=ML100K_DESCRIPTIONS)


def test_ml100k_counts_match_source(ml100k: Dataset) -> None:
    ds = ml100k
    assert ds.users is not None and ds.interactions is not None
    assert len(ds.users) == 943
    assert len(ds.items) == 1682
    assert len(ds.interactions) == 100_000
    # Every triple survives the item linking; 1,598 linked MIDs become items.
    assert len(ds.triples) == 91_631
    assert len(ds.entities) == 34_628 - 1_598
    assert ds.triples["relation"].nunique() == 24


def test_ml100k_tables(ml100k: Dataset) -> None:
    ds = ml100k
    check_graph_shape(ds)
    toy_story = ds.items.set_index("item_id").loc["1"]
    assert toy_story["title"] == "Toy Story"
    assert toy_story["class"] == "Animation, Children's, Comedy"
    assert toy_story["release_year"] == "1995"
    assert toy_story["description"].startswith('"Toy Story (1995)"')
    assert (ds.items["description"] != "").sum() == 1624
    assert list(ds.users.columns) == ["user_id", "age", "gender", "occupation", "zip_code"]
    assert ds.interactions["timestamp"].dtype == "int64"
    assert set(ds.interactions["rating"].unique()) == {1.0, 2.0, 3.0, 4.0, 5.0}


def test_ml100k_kg_orientation_and_types(ml100k: Dataset) -> None:
    ds = ml100k
    items = set(ds.items["item_id"])
    triples = ds.triples
    directed_by = triples[triples["relation"] == "FILM_FILM_DIRECTED_BY"]
    director_of = triples[triples["relation"] == "FILM_DIRECTOR_FILM"]
    # Kept as given: film -> director and the mirrored director -> film.
    assert directed_by["head"].isin(items).all() and not directed_by["tail"].isin(items).any()
    assert director_of["tail"].isin(items).all() and not director_of["head"].isin(items).any()
    assert len(directed_by) == len(director_of) == 1727
    entity_type = ds.entities.set_index("entity_id")["type"]
    assert (entity_type[directed_by["tail"]].value_counts().index[0]) == "film.director"
    assert (
        entity_type[triples.loc[triples["relation"] == "FILM_FILM_ACTOR", "tail"]] == "film.actor"
    ).mean() > 0.9
    genres = triples.loc[triples["relation"] == "FILM_FILM_GENRE", "tail"]
    # Four genres are also film subjects in more triples, so they take that type.
    assert (entity_type[genres] == "film.film_genre").mean() > 0.99
    countries = triples.loc[triples["relation"] == "FILM_FILM_COUNTRY", "tail"]
    # No mirror relation for countries: untyped, unless also seen heading film.film_subject.films.
    assert set(entity_type[countries]) == {"freebase", "film.film_subject"}
    assert (ds.entities["name"] == "").all()  # opaque MIDs: no invented names


def test_ml100k_passes_import_validation(ml100k: Dataset) -> None:
    prepared = validate(ml100k, nothing_in_graph)
    assert prepared.counts()["triples"] == 91_631


# ---- Last.fm HetRec + DBpedia / Satori --------------------------------------------------


@pytest.fixture(scope="module")
def lastfm() -> Dataset:
    return load_dataset(LASTFM, "lastfm-hetrec", kg="both")


def test_lastfm_counts_match_source(lastfm: Dataset) -> None:
    ds = lastfm
    assert ds.users is not None and ds.interactions is not None
    assert len(ds.users) == 1892
    assert len(ds.items) == 17_632
    assert len(ds.interactions) == 92_834
    assert ds.interactions["weight"].dtype == "int64"
    assert "timestamp" not in ds.interactions.columns
    assert (ds.items["description"] != "").sum() == 2813


def test_lastfm_dbpedia_kg(lastfm: Dataset) -> None:
    ds = lastfm
    check_graph_shape(ds)
    dbpedia = ds.entities[ds.entities["entity_id"].str.startswith("dbpedia:")]
    # SOURCE.md: 37,927 URIs in the edge lists; the ones that are artists become items.
    assert 25_000 < len(dbpedia) < 37_927
    named = ds.entities.set_index("entity_id")
    assert named.loc["dbpedia:Dance_music", "name"] == "Dance music"
    assert named.loc["dbpedia:Dance_music", "type"] == "genre"
    assert named.loc["dbpedia:Universal_Music_Group", "type"] == "record_label"
    assert named.loc["dbpedia:Los_Angeles", "type"] == "place"
    assert named.loc["dbpedia:Synthesizer", "type"] == "instrument"
    assert named.loc['dbpedia:Alfred_"Garvey"_Estrada', "name"] == 'Alfred "Garvey" Estrada'  # %22
    assert named.loc["dbpedia:Grégory_Lemarchal", "name"] == "Grégory Lemarchal"
    band_names = dbpedia["name"][dbpedia["name"].str.endswith("(band)")]
    assert len(band_names) > 100  # disambiguation kept
    assert not dbpedia["name"].str.contains("_").any()
    assert not dbpedia["name"].str.contains(r"%[0-9A-Fa-f]{2}").any()
    dbpedia_relations = {
        "GENRE", "RECORD_LABEL", "HOMETOWN", "BIRTH_PLACE", "ASSOCIATED_BAND",
        "ASSOCIATED_MUSICAL_ARTIST", "BAND_MEMBER", "FORMER_BAND_MEMBER", "OCCUPATION",
        "INSTRUMENT",
    }  # fmt: skip
    assert dbpedia_relations <= set(ds.triples["relation"])
    # Artists join the KG: an edge from Morandi (band) to Europop starts at an item.
    morandi = ds.items.loc[ds.items["title"] == "Morandi", "item_id"].iloc[0]
    genres = ds.triples[(ds.triples["head"] == morandi) & (ds.triples["relation"] == "GENRE")]
    assert "dbpedia:Europop" in set(genres["tail"])


def test_lastfm_satori_kg(lastfm: Dataset) -> None:
    ds = lastfm
    satori = ds.entities[ds.entities["entity_id"].str.startswith("satori:")]
    assert len(satori) == 9366 - 3846  # SOURCE.md entities minus those linked to artists
    assert (satori["name"] == "").all() and (satori["type"] == "satori").all()
    relations = ds.triples["relation"]
    assert {"MUSIC_ARTIST_ORIGIN", "FILM_ACTOR_FILM", "PEOPLE_PERSON_NATIONALITY"} <= set(relations)
    assert (ds.triples["head"].str.startswith("satori:")).sum() == 0  # heads are all artists


def test_lastfm_text_and_encodings(lastfm: Dataset) -> None:
    ds = lastfm
    items = ds.items.set_index("item_id")
    assert items.loc["11681", "title"] == "Ballaké Sissoko"  # double-encoded UTF-8 repaired
    assert items.loc["5611", "title"] == "Ö²ËÉÉì·ò"  # GBK mojibake: left as found
    # Descriptions are keyed by CoLaKG's remapped index; mapped back to artist ids.
    assert items.loc["2", "description"].startswith("Diary of Dreams is")
    lil_wayne = ds.items.loc[ds.items["title"] == "Lil Wayne", "description"].iloc[0]
    assert lil_wayne.startswith("Lil' Wayne")
    assert items.loc["1", "description"] == ""


def test_lastfm_kg_choices() -> None:
    only_dbpedia = load_dataset(LASTFM, "lastfm-hetrec", descriptions=False)
    assert "description" not in only_dbpedia.items.columns
    assert only_dbpedia.entities is not None
    assert only_dbpedia.entities["entity_id"].str.startswith(("dbpedia:", "http")).all()
    only_satori = load_dataset(LASTFM, "lastfm-hetrec", kg="satori", descriptions=False)
    assert only_satori.triples is not None
    assert len(only_satori.triples) == 15_518 - 49  # 49 `type.object.key` self-loops dropped
    no_kg = load_dataset(LASTFM, "lastfm-hetrec", kg="none", descriptions=False)
    assert no_kg.triples is None and no_kg.entities is None
    with pytest.raises(ValueError, match="kg: expected one of"):
        load_dataset(LASTFM, "lastfm-hetrec", kg="wikidata")


def test_lastfm_passes_import_validation(lastfm: Dataset) -> None:
    prepared = validate(lastfm, nothing_in_graph)
    assert prepared.counts()["interactions"] == 92_834


# ---- RecBole edge cases on small hand-written files -------------------------------------


def write_recbole(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for suffix, text in files.items():
        (root / f"toy.{suffix}").write_text(text, encoding="utf-8")
    return root


def test_recbole_without_item_file_and_prefix(tmp_path: Path) -> None:
    src = write_recbole(
        tmp_path / "toy",
        {
            "inter": "user_id:token\titem_id:token\tlabel:float\n1\t10\t1\n2\t20\t0\n",
            "kg": "head_id:token\trelation_id:token\ttail_id:token\n"
            "e10\tmusic.genre.artists\t10\ne10\tmusic.genre.artists\t99\n",
            "link": "item_id:token\tentity_id:token\n20\te20\n",
        },
    )
    # Unlinked KG id "10" is also an item id: refuse rather than merge two nodes.
    with pytest.raises(DatasetError, match="entity_prefix"):
        load_dataset(src, "recbole")
    ds = load_dataset(src, "recbole", entity_prefix="fb:")
    assert list(ds.items["title"]) == ["10", "20"]  # no .item file: the id is the label
    assert ds.users is not None and list(ds.users["user_id"]) == ["1", "2"]
    assert ds.triples is not None and set(ds.triples["tail"]) == {"fb:10", "fb:99"}
    assert set(ds.triples["relation"]) == {"MUSIC_GENRE_ARTISTS"}
    assert ds.entities is not None
    types = ds.entities.set_index("entity_id")["type"]
    assert types["fb:e10"] == "music.genre"  # head of a Freebase property: its domain type
    assert types["fb:99"] == "freebase"  # only a tail, no mirror relation: no type claimed


def test_recbole_bad_float_names_file_and_line(tmp_path: Path) -> None:
    src = write_recbole(
        tmp_path / "toy",
        {"inter": "user_id:token\titem_id:token\trating:float\n1\t10\t4\n2\t20\tfive\n"},
    )
    with pytest.raises(DatasetError) as err:
        load_dataset(src, "recbole")
    assert "toy.inter, row 3, column 'rating': expected a number, found 'five'" in str(err.value)


def test_recbole_untyped_header(tmp_path: Path) -> None:
    src = write_recbole(tmp_path / "toy", {"item": "item_id\ttitle\n1\tA\n"})
    with pytest.raises(DatasetError, match="typed header field"):
        load_dataset(src, "recbole")


# ---- relation names ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ("film.film.directed_by", "FILM_FILM_DIRECTED_BY"),
        ("recordLabel", "RECORD_LABEL"),
        ("associatedMusicalArtist", "ASSOCIATED_MUSICAL_ARTIST"),
        ("type.object.key", "TYPE_OBJECT_KEY"),
        ("3d-model", "R_3D_MODEL"),
        ("  weird -- name  ", "WEIRD_NAME"),
    ],
)
def test_safe_relation_name(raw: str, safe: str) -> None:
    assert safe_relation_name(raw) == safe
    assert SAFE.match(safe)


def test_relation_name_collision_is_an_error() -> None:
    with pytest.raises(DatasetError, match="both become 'A_B'"):
        relation_names(["a.b", "a_b"], "kg.txt")


# ---- canonical reader ---------------------------------------------------------------------


def tricky_dataset() -> Dataset:
    """Values a careless reader would mangle: NA-like ids, zip codes, quotes, newlines."""
    return Dataset(
        items=pd.DataFrame(
            {
                "item_id": ["NA", "null", "007", "i4"],
                "title": ['Say "NA"', "None", "Ünïcode, with comma", "plain"],
                "description": ["two\nlines", "", "emoji 🎧", "x"],
                "zip": ["02139", "", "N/A", "10001"],
            }
        ),
        entities=pd.DataFrame(
            {"entity_id": ["m.1", "nan"], "name": ["", "Not a number"], "type": ["t", "t"]}
        ),
        triples=pd.DataFrame(
            {
                "head": ["NA", "007"],
                "relation": ["R", "R"],
                "tail": ["m.1", "nan"],
                "weight": [0.5, 1.0],
            }
        ),
        users=pd.DataFrame({"user_id": ["u1", "NULL"], "age": ["24", ""]}),
        interactions=pd.DataFrame(
            {
                "user_id": ["u1", "NULL", "u1"],
                "item_id": ["NA", "null", "007"],
                "timestamp": [881250949, 881250950, 881250951],
                "rating": [4.0, 3.5, float("nan")],
                "device": ["tv", "", "web"],
            }
        ),
    )


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_canonical_round_trip(tmp_path: Path, fmt: str) -> None:
    original = tricky_dataset()
    written = original.write(tmp_path, fmt)
    assert {p.name for p in written} == {f"{t}.{fmt}" for t in TABLES}
    loaded = load_dataset(tmp_path)
    for name, frame in original.tables().items():
        pd.testing.assert_frame_equal(loaded.tables()[name], frame, check_dtype=False)
        assert loaded.sources[name] == str(tmp_path / f"{name}.{fmt}")
    assert loaded.items["item_id"].tolist() == ["NA", "null", "007", "i4"]
    assert loaded.interactions is not None
    assert loaded.interactions["timestamp"].dtype == "int64"


def test_canonical_timestamp_text_and_bad_numbers_stay_text(tmp_path: Path) -> None:
    (tmp_path / "items.csv").write_text("item_id,title\n1,A\n", encoding="utf-8")
    (tmp_path / "interactions.csv").write_text(
        "user_id,item_id,timestamp,rating\nu,1,2024-01-02T03:04:05Z,4\nu,1,yesterday,x\n",
        encoding="utf-8",
    )
    inter = load_dataset(tmp_path).interactions
    assert inter is not None
    # Not coerced to NaN: the importer reports 'yesterday' and 'x' with their rows.
    assert inter["timestamp"].tolist() == ["2024-01-02T03:04:05Z", "yesterday"]
    assert inter["rating"].tolist() == ["4", "x"]


def test_canonical_bom_and_crlf(tmp_path: Path) -> None:
    (tmp_path / "items.csv").write_bytes("\ufeffitem_id,title\r\n1,Élan\r\n".encode())
    items = load_dataset(tmp_path).items
    assert list(items.columns) == ["item_id", "title"]
    assert items["title"].tolist() == ["Élan"]


def test_blank_lines_keep_row_numbers(tmp_path: Path) -> None:
    (tmp_path / "items.csv").write_text("item_id,title\n1,A\n\n3,C\n\n\n", encoding="utf-8")
    items = load_dataset(tmp_path).items
    # The blank line 3 stays a row (the importer reports it); trailing blank lines are dropped.
    assert items["item_id"].tolist() == ["1", "", "3"]


def test_non_utf8_names_file_and_line(tmp_path: Path) -> None:
    good = "item_id,title\n" + "".join(f"{i},Title {i}\n" for i in range(1, 16))
    (tmp_path / "items.csv").write_bytes(good.encode() + "16,Caf\xe9 latin-1\n".encode("latin-1"))
    with pytest.raises(DatasetError) as err:
        load_dataset(tmp_path)
    error = err.value
    assert error.file == str(tmp_path / "items.csv")
    assert error.row == 17  # header is line 1, item 16 is on line 17
    assert "items.csv, row 17" in str(error) and "UTF-8" in str(error) and "e9" in str(error)


def test_canonical_parse_errors(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="no such directory"):
        load_dataset(tmp_path / "missing")
    (tmp_path / "users.csv").write_text("user_id\nu1\n", encoding="utf-8")
    with pytest.raises(DatasetError, match="an items table"):
        load_dataset(tmp_path)
    (tmp_path / "items.csv").write_text("item_id,title\n1,A\n2,B,extra\n", encoding="utf-8")
    with pytest.raises(DatasetError) as err:
        load_dataset(tmp_path)
    assert err.value.row == 3 and "Expected 2 fields in line 3, saw 3" in str(err.value)
    (tmp_path / "items.csv").write_text("item_id,title,title\n1,A,B\n", encoding="utf-8")
    with pytest.raises(DatasetError, match="'title' twice"):
        load_dataset(tmp_path)
    (tmp_path / "items.csv").write_text("", encoding="utf-8")
    with pytest.raises(DatasetError, match="an empty file"):
        load_dataset(tmp_path)
    (tmp_path / "items.csv").write_text("item_id,title\n1,A\n", encoding="utf-8")
    pd.DataFrame({"item_id": ["1"], "title": ["A"]}).to_parquet(tmp_path / "items.parquet")
    with pytest.raises(DatasetError, match="both"):
        load_dataset(tmp_path)
    (tmp_path / "items.csv").unlink()
    (tmp_path / "items.parquet").write_bytes(b"not parquet")
    with pytest.raises(DatasetError, match="a readable Parquet file"):
        load_dataset(tmp_path)


def test_parquet_integer_ids_become_strings(tmp_path: Path) -> None:
    pd.DataFrame({"item_id": [1, 2], "title": ["A", "B"]}).to_parquet(tmp_path / "items.parquet")
    items = load_dataset(tmp_path).items
    assert items["item_id"].tolist() == ["1", "2"]


def test_registry_and_dispatch(tmp_path: Path) -> None:
    assert set(ADAPTERS) == {"recbole", "lastfm-hetrec"}
    with pytest.raises(ValueError, match="expected one of canonical, recbole, lastfm-hetrec"):
        load_dataset(tmp_path, "movielens")
    with pytest.raises(TypeError, match="no options"):
        load_dataset(tmp_path, descriptions=True)


def test_ml100k_dbpedia_names_for_explanations() -> None:
    # The Freebase KG has no entity names; the derived DBpedia KG names them.
    derived = ML100K / "derived"
    ds = load_dataset(ML100K, "recbole", dbpedia_links=derived / "ml-100k_to_ml1m_dbpedia.tsv",
                      dbpedia_kg=derived / "ml-100k_dbpedia.kg.tsv")  # fmt: skip
    dbpedia = ds.entities[ds.entities["entity_id"].str.startswith("dbpedia:")]
    assert len(dbpedia) > 6000 and (dbpedia["name"] != "").all()
    assert not dbpedia["name"].str.contains("_").any()
    assert set(dbpedia["type"]) <= {"actor", "director", "writer", "producer", "composer",
                                    "cinematographer", "editor", "distributor"}  # fmt: skip
    raise_the_red_lantern = ds.items.loc[ds.items["title"] == "Raise the Red Lantern", "item_id"]
    facts = ds.triples[ds.triples["head"].isin(raise_the_red_lantern)]
    pairs = set(zip(facts["relation"], facts["tail"], strict=True))
    assert ("DBO_CINEMATOGRAPHY", "dbpedia:Zhao_Fei") in pairs
    zhao = dbpedia.set_index("entity_id").loc["dbpedia:Zhao_Fei"]
    assert (zhao["name"], zhao["type"]) == ("Zhao Fei", "cinematographer")
    assert set(ds.triples["head"]) <= set(ds.items["item_id"]) | set(ds.entities["entity_id"])
    assert not ds.entities["entity_id"].duplicated().any()
    from_dbpedia = int(ds.triples["relation"].str.startswith("DBO_").sum())
    assert validate(ds, nothing_in_graph).counts()["triples"] == 91_631 + from_dbpedia
    with pytest.raises(ValueError, match="dbpedia_links and dbpedia_kg: expected both"):
        load_dataset(ML100K, "recbole", dbpedia_kg=derived / "ml-100k_dbpedia.kg.tsv")
