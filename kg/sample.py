"""A synthetic book catalogue in the canonical format, with real signal in its text and KG.

Deterministic per `(size, seed)` (one `numpy.random.Generator`). Sizes:

| size      | items | users | interactions (about) | use                      |
|-----------|-------|-------|----------------------|--------------------------|
| `tiny`    | 60    | 40    | 600                  | unit tests (< 1 s)       |
| `small`   | 600   | 400   | 15,000               | the demo, end-to-end     |
| `default` | 3,000 | 2,000 | 80,000               | benchmarks on a laptop   |

How it is built (the generative story, so tests can check its consequences):

* Entities (`type`): 2 root genres and 12 leaf genres (`genre`), 36 themes (`theme`,
  3 per leaf genre), authors (`author`, about one per 5 books), 12 publishers
  (`publisher`) and 12 countries (`country`). Entity-entity triples:
  genre `SUBGENRE_OF` root genre, theme `PART_OF` genre, author `WRITES` genre,
  author `BORN_IN` country, publisher `BASED_IN` country.
* Items (books): an author (`WRITTEN_BY`) drawn with a heavy-tailed productivity;
  the author's genre, sometimes a second one (`HAS_GENRE`); 1-3 themes (`ABOUT`),
  mostly of the book's genres and biased to the author's favourite theme; a
  publisher specialised in the genre (`PUBLISHED_BY`). Attributes: `year` and
  `language` (from the author's country). The title is built from the genre's
  adjectives and the themes' nouns; the description names the genre(s), the
  author and the themes' plot phrases, so a text model sees the same facts the
  KG holds.
* Users: `age_group` and `country`; a genre taste drawn from a Dirichlet (peaked
  on 1-3 genres; younger users lean to fantasy, science fiction and romance),
  three favourite themes, a device preference (`mobile`/`web`/`ereader`).
* Interactions: each user picks books without replacement (Gumbel top-k, i.e.
  Plackett-Luce) from a mixture of two reasons: taste (60 %: popularity times
  exp(genre taste + favourite-theme bonus + reading-language bonus)) and
  "everybody reads it" (40 %: a steeper popularity alone). Popularity is a power
  law over a random ranking, so most items sit in the tail. About 5 % of items
  have zero popularity: they are in the catalogue and the KG but nobody has read
  them (cold items). Tastes drift slightly: the last 30 % of a user's books come
  from a genre taste mixed 30 % with a fresh draw. Timestamps are unix seconds,
  increasing per user; `rating` (1-5) rises with the user's affinity for the
  book; `device` is a context column.

Measured on `small`, seed 0 (last 20 % of each user held out): top 20 % of items
take 59 % of interactions, 73 % of items are below the mean count, 4.5 % have
none; Recall@20 of most-popular is 0.34, of a profile over the linked entities alone
0.33, of that profile times log-popularity 0.40.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from tailgraph.kg.dataset import Dataset

SIZES: dict[str, tuple[int, int, float]] = {
    # items, users, mean interactions per user
    "tiny": (60, 40, 15.0),
    "small": (600, 400, 37.5),
    "default": (3000, 2000, 40.0),
}

ROOT_GENRES: dict[str, str] = {"fiction": "Fiction", "nonfiction": "Nonfiction"}


@dataclass(frozen=True)
class Theme:
    slug: str
    name: str
    phrases: tuple[str, str]
    nouns: tuple[str, ...]


@dataclass(frozen=True)
class Genre:
    slug: str
    name: str
    root: str
    form: str  # "novel" for fiction, "book" for nonfiction
    tones: tuple[str, ...]
    adjectives: tuple[str, ...]
    themes: tuple[Theme, Theme, Theme]
    youth_appeal: float  # > 1: favoured by younger readers


def _theme(slug: str, name: str, phrases: tuple[str, str], nouns: str) -> Theme:
    return Theme(slug, name, phrases, tuple(nouns.split(", ")))


GENRES: tuple[Genre, ...] = (
    Genre(
        "fantasy",
        "Fantasy",
        "fiction",
        "novel",
        ("sweeping", "spellbinding", "enchanting"),
        ("Emerald", "Shattered", "Silver", "Ancient"),
        (
            _theme(
                "dragons",
                "Dragons",
                ("the last of the dragon riders", "an ancient dragon waking beneath the mountains"),
                "Dragon, Wyrm, Ember, Scale",
            ),
            _theme(
                "magic-schools",
                "Schools of magic",
                (
                    "a school of magic hiding forbidden spells",
                    "apprentice wizards learning old magic",
                ),
                "Spell, Academy, Wand, Grimoire",
            ),
            _theme(
                "quests",
                "Epic quests",
                ("a quest across a broken kingdom", "a fellowship sworn to recover a stolen crown"),
                "Crown, Sword, Kingdom, Throne",
            ),
        ),
        1.5,
    ),
    Genre(
        "science-fiction",
        "Science fiction",
        "fiction",
        "novel",
        ("visionary", "mind-bending", "cerebral"),
        ("Infinite", "Quantum", "Distant", "Silent"),
        (
            _theme(
                "space-exploration",
                "Space exploration",
                (
                    "a generation ship bound for a distant star",
                    "explorers charting an alien planet",
                ),
                "Star, Orbit, Voyager, Nebula",
            ),
            _theme(
                "artificial-intelligence",
                "Artificial intelligence",
                (
                    "an artificial intelligence that learns to lie",
                    "a robot questioning its programming",
                ),
                "Machine, Circuit, Code, Android",
            ),
            _theme(
                "time-travel",
                "Time travel",
                ("a time traveller trapped in a loop", "a paradox that rewrites history"),
                "Clock, Paradox, Hour, Chronicle",
            ),
        ),
        1.4,
    ),
    Genre(
        "mystery",
        "Mystery",
        "fiction",
        "novel",
        ("clever", "twisty", "atmospheric"),
        ("Crooked", "Hidden", "Seventh", "Quiet"),
        (
            _theme(
                "detectives",
                "Detectives",
                (
                    "a retired detective reopening a cold case",
                    "a detective facing a locked-room murder",
                ),
                "Detective, Clue, Case, Alibi",
            ),
            _theme(
                "village-secrets",
                "Village secrets",
                ("the secrets buried in a quiet village", "a small town hiding an old crime"),
                "Village, Secret, Well, Parish",
            ),
            _theme(
                "heists",
                "Heists",
                ("a daring heist at a museum gala", "a crew of thieves planning one last job"),
                "Heist, Vault, Diamond, Gambit",
            ),
        ),
        0.8,
    ),
    Genre(
        "thriller",
        "Thriller",
        "fiction",
        "novel",
        ("relentless", "gripping", "pulse-pounding"),
        ("Deadly", "Final", "Burning", "Black"),
        (
            _theme(
                "espionage",
                "Espionage",
                ("a spy caught between two governments", "a double agent hunting a mole"),
                "Spy, Cipher, Agent, Border",
            ),
            _theme(
                "conspiracy",
                "Conspiracy",
                ("a journalist uncovering a government conspiracy", "a whistleblower on the run"),
                "Conspiracy, Signal, Files, Protocol",
            ),
            _theme(
                "survival",
                "Survival",
                ("a family stranded in a frozen wilderness", "survivors fighting through a storm"),
                "Storm, Wilderness, Ice, Edge",
            ),
        ),
        1.0,
    ),
    Genre(
        "romance",
        "Romance",
        "fiction",
        "novel",
        ("heartwarming", "swoon-worthy", "tender"),
        ("Sweet", "Lovely", "Golden", "Perfect"),
        (
            _theme(
                "second-chances",
                "Second chances",
                (
                    "former lovers meeting again after ten years",
                    "a second chance at love by the sea",
                ),
                "Summer, Heart, Promise, Letter",
            ),
            _theme(
                "royalty",
                "Royalty",
                ("a commoner falling for a reluctant prince", "a royal wedding nobody wanted"),
                "Prince, Duchess, Palace, Ball",
            ),
            _theme(
                "rivals-to-lovers",
                "Rivals to lovers",
                (
                    "two rivals at work who cannot stop arguing",
                    "two chefs competing for one kitchen",
                ),
                "Kitchen, Rival, Office, Deal",
            ),
        ),
        1.3,
    ),
    Genre(
        "historical-fiction",
        "Historical fiction",
        "fiction",
        "novel",
        ("richly detailed", "sweeping", "evocative"),
        ("Iron", "Forgotten", "Long", "Last"),
        (
            _theme(
                "world-wars",
                "World wars",
                (
                    "a nurse on the front lines of the Great War",
                    "resistance fighters in occupied France",
                ),
                "War, Resistance, Front, Soldier",
            ),
            _theme(
                "ancient-rome",
                "Ancient Rome",
                (
                    "a gladiator fighting for freedom in ancient Rome",
                    "intrigue in the Roman senate",
                ),
                "Empire, Legion, Gladiator, Senate",
            ),
            _theme(
                "victorian-london",
                "Victorian London",
                ("a governess in foggy Victorian London", "a Victorian inventor and his machine"),
                "Fog, Governess, Lamp, Street",
            ),
        ),
        0.7,
    ),
    Genre(
        "horror",
        "Horror",
        "fiction",
        "novel",
        ("chilling", "unsettling", "terrifying"),
        ("Hollow", "Bleeding", "Whispering", "Cold"),
        (
            _theme(
                "haunted-houses",
                "Haunted houses",
                ("a family moving into a haunted house", "ghosts lingering in an old manor"),
                "House, Ghost, Manor, Attic",
            ),
            _theme(
                "monsters",
                "Monsters",
                ("a creature stalking a remote island", "something hungry beneath the lake"),
                "Creature, Lake, Teeth, Night",
            ),
            _theme(
                "cults",
                "Cults",
                (
                    "a village cult preparing a terrible ritual",
                    "a missing sister and a cult in the hills",
                ),
                "Ritual, Cult, Altar, Hollow",
            ),
        ),
        1.2,
    ),
    Genre(
        "literary-fiction",
        "Literary fiction",
        "fiction",
        "novel",
        ("luminous", "quietly devastating", "lyrical"),
        ("Small", "Blue", "Unfinished", "Tender"),
        (
            _theme(
                "family-sagas",
                "Family sagas",
                (
                    "three generations of a family and their inheritance",
                    "siblings home for a funeral",
                ),
                "Family, Inheritance, Orchard, Sisters",
            ),
            _theme(
                "coming-of-age",
                "Coming of age",
                ("a teenager's last summer before leaving home", "growing up in a harbour town"),
                "Boyhood, Girlhood, Harbour, June",
            ),
            _theme(
                "grief-and-memory",
                "Grief and memory",
                (
                    "a widow sorting through her husband's letters",
                    "memory and loss after a tragedy",
                ),
                "Memory, Absence, Silence, Garden",
            ),
        ),
        0.7,
    ),
    Genre(
        "biography",
        "Biography",
        "nonfiction",
        "book",
        ("intimate", "revealing", "candid"),
        ("True", "Remarkable", "Unlikely", "Restless"),
        (
            _theme(
                "musicians",
                "Musicians",
                ("the life of a jazz musician on the road", "a rock star's rise and fall"),
                "Song, Stage, Rhythm, Encore",
            ),
            _theme(
                "scientists",
                "Scientists",
                (
                    "the life of a pioneering physicist",
                    "a chemist whose discovery changed medicine",
                ),
                "Discovery, Lab, Theory, Experiment",
            ),
            _theme(
                "athletes",
                "Athletes",
                ("a marathon runner's comeback", "the career of a legendary football coach"),
                "Race, Champion, Game, Finish",
            ),
        ),
        0.6,
    ),
    Genre(
        "history",
        "History",
        "nonfiction",
        "book",
        ("authoritative", "vivid", "panoramic"),
        ("Great", "Lost", "First", "Fallen"),
        (
            _theme(
                "empires",
                "Empires",
                ("the rise and fall of great empires", "how trade routes built an empire"),
                "Empire, Silk, Trade, Conquest",
            ),
            _theme(
                "revolutions",
                "Revolutions",
                ("the revolutions that reshaped Europe", "ordinary people during a revolution"),
                "Revolution, Barricade, People, Liberty",
            ),
            _theme(
                "polar-exploration",
                "Polar exploration",
                ("the race to reach the South Pole", "expeditions lost in the Arctic ice"),
                "Voyage, Ocean, Pole, Map",
            ),
        ),
        0.5,
    ),
    Genre(
        "popular-science",
        "Popular science",
        "nonfiction",
        "book",
        ("accessible", "fascinating", "eye-opening"),
        ("Hidden", "Elegant", "Curious", "Secret"),
        (
            _theme(
                "cosmology",
                "Cosmology",
                ("the origin of the universe and black holes", "how stars are born and die"),
                "Universe, Cosmos, Galaxy, Light",
            ),
            _theme(
                "evolution",
                "Evolution",
                ("evolution and the tree of life", "what fossils reveal about early humans"),
                "Evolution, Fossil, Species, Origin",
            ),
            _theme(
                "the-brain",
                "The brain",
                ("how the brain makes decisions", "memory, sleep and the science of the mind"),
                "Mind, Brain, Neuron, Habit",
            ),
        ),
        0.9,
    ),
    Genre(
        "travel",
        "Travel",
        "nonfiction",
        "book",
        ("wry", "transporting", "warm-hearted"),
        ("Long", "Wild", "Slow", "Open"),
        (
            _theme(
                "mountains",
                "Mountains",
                ("trekking through the Himalaya", "a year of climbing in the Alps"),
                "Mountain, Summit, Trail, Peak",
            ),
            _theme(
                "rail-journeys",
                "Rail journeys",
                ("a train journey across Asia", "slow travel by rail through Europe"),
                "Railway, Train, Station, Journey",
            ),
            _theme(
                "food-travel",
                "Food and travel",
                ("eating through the street markets of the world", "recipes from coastal villages"),
                "Market, Spice, Table, Feast",
            ),
        ),
        0.8,
    ),
)

# code, name, language, share of authors, share of users
COUNTRIES: tuple[tuple[str, str, str, float, float], ...] = (
    ("us", "United States", "English", 0.26, 0.30),
    ("gb", "United Kingdom", "English", 0.16, 0.14),
    ("ie", "Ireland", "English", 0.04, 0.03),
    ("ca", "Canada", "English", 0.06, 0.06),
    ("au", "Australia", "English", 0.05, 0.05),
    ("fr", "France", "French", 0.09, 0.09),
    ("de", "Germany", "German", 0.08, 0.09),
    ("se", "Sweden", "Swedish", 0.05, 0.04),
    ("jp", "Japan", "Japanese", 0.08, 0.07),
    ("br", "Brazil", "Portuguese", 0.05, 0.06),
    ("in", "India", "English", 0.05, 0.05),
    ("ng", "Nigeria", "English", 0.03, 0.02),
)
PUBLISHERS: tuple[tuple[str, str], ...] = (
    ("Harbor House", "us"),
    ("Blue Lantern Press", "us"),
    ("Northwind Books", "ca"),
    ("Meridian", "gb"),
    ("Ravenstone", "gb"),
    ("Tideline Press", "au"),
    ("Oakleaf Publishing", "ie"),
    ("Editions du Quai", "fr"),
    ("Lindenhaus Verlag", "de"),
    ("Norrsken Förlag", "se"),
    ("Sakura Shobo", "jp"),
    ("Casa Aurora", "br"),
)
FIRST_NAMES = [
    "Ada",
    "Ben",
    "Clara",
    "Dev",
    "Elena",
    "Farid",
    "Grace",
    "Hiro",
    "Ines",
    "Jonas",
    "Kofi",
    "Lena",
    "Marco",
    "Nadia",
    "Oskar",
    "Priya",
    "Quinn",
    "Rosa",
    "Samir",
    "Tess",
    "Umar",
    "Vera",
    "Wen",
    "Xavier",
    "Yara",
    "Zoe",
    "Amara",
    "Bruno",
    "Chloe",
    "Dmitri",
    "Emeka",
    "Freya",
    "Gus",
    "Hana",
    "Ivo",
    "Jade",
    "Kenji",
    "Lucia",
    "Mateo",
    "Nora",
]
LAST_NAMES = [
    "Lindqvist",
    "Okafor",
    "Moreau",
    "Tanaka",
    "Brennan",
    "Silva",
    "Hartmann",
    "Patel",
    "Novak",
    "Whitfield",
    "Adeyemi",
    "Castillo",
    "Fischer",
    "Nakamura",
    "Oduya",
    "Laurent",
    "Kowalski",
    "Reyes",
    "Sato",
    "Bergstrom",
    "Mensah",
    "Dubois",
    "Ivanova",
    "Holloway",
    "Chen",
    "Almeida",
    "Keller",
    "Murphy",
    "Rao",
    "Sorensen",
    "Vance",
    "Yamada",
    "Quill",
    "Ashby",
    "Devereux",
    "Eriksen",
    "Fontaine",
    "Gallagher",
    "Haddad",
    "Iwu",
]
AGE_GROUPS: tuple[str, ...] = ("18-24", "25-34", "35-44", "45-54", "55+")
AGE_SHARES: tuple[float, ...] = (0.18, 0.28, 0.22, 0.17, 0.15)
DEVICES: tuple[str, ...] = ("mobile", "web", "ereader")
CLOSINGS: tuple[str, ...] = (
    "Readers praise its vivid characters.",
    "A book about courage, loyalty and what we owe each other.",
    "Critics called it hard to put down.",
    "It was shortlisted for a national book prize.",
    "The prose is spare and precise.",
    "A favourite of book clubs.",
    "",
)
# How strongly taste and popularity drive choices (tuned so that a content model
# beats popularity while most items stay in the tail; see tests/kg/test_sample.py).
TASTE_CONCENTRATION = 0.1  # Dirichlet total mass over genres: small = few favourite genres
GENRE_WEIGHT = 3.0  # multiplies log(genre taste)
THEME_WEIGHT = 3.0  # per favourite theme the book is about
LANGUAGE_WEIGHT = 1.0  # the book is in a language the user reads
POPULARITY_EXPONENT = 1.0  # popularity ~ rank ** -exponent
BESTSELLER_SHARE = 0.4  # share of picks made by popularity alone
BESTSELLER_EXPONENT = 2.0  # popularity exponent of those picks
ACTIVITY_SPREAD = 0.8  # sigma of the log-normal number of books per user
START = 1_546_300_800  # 2019-01-01 UTC
END = 1_704_067_200  # 2024-01-01 UTC


def generate_sample(size: str = "small", seed: int = 0) -> Dataset:
    """The synthetic catalogue of `size` ("tiny", "small", "default") for `seed`."""
    if size not in SIZES:
        raise ValueError(f"sample size: expected one of {', '.join(SIZES)}; found {size!r}")
    n_items, n_users, mean_per_user = SIZES[size]
    rng = np.random.default_rng(seed)
    catalogue = _Catalogue.build(rng, n_items)
    users, taste = _users(rng, n_users)
    interactions = _interactions(rng, catalogue, users, taste, mean_per_user)
    label = f"<sample size={size} seed={seed}>"
    dataset = Dataset(
        items=catalogue.items,
        entities=catalogue.entities,
        triples=catalogue.triples,
        users=users,
        interactions=interactions,
    )
    dataset.sources = {name: f"{label}/{name}" for name in dataset.tables()}
    return dataset


def write_sample(out_dir: Path, size: str = "small", seed: int = 0, fmt: str = "csv") -> list[Path]:
    """Write the sample as canonical `<table>.csv` / `<table>.parquet` files in `out_dir`."""
    return generate_sample(size, seed).write(Path(out_dir), fmt)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


@dataclass
class _Catalogue:
    items: pd.DataFrame
    entities: pd.DataFrame
    triples: pd.DataFrame
    item_genres: np.ndarray  # (items, genres) 0/1
    item_themes: np.ndarray  # (items, themes) 0/1
    item_language: np.ndarray  # (items,) language index
    languages: list[str]

    @classmethod
    def build(cls, rng: np.random.Generator, n_items: int) -> _Catalogue:
        themes = [theme for genre in GENRES for theme in genre.themes]
        n_genres, n_themes = len(GENRES), len(themes)
        languages = sorted({c[2] for c in COUNTRIES})

        # Authors: a home genre, sometimes a second one, a favourite theme, a country.
        n_authors = max(8, n_items // 5)
        pairs = rng.choice(len(FIRST_NAMES) * len(LAST_NAMES), size=n_authors, replace=False)
        author_names = [
            f"{FIRST_NAMES[p // len(LAST_NAMES)]} {LAST_NAMES[p % len(LAST_NAMES)]}" for p in pairs
        ]
        genre_share = rng.dirichlet(np.full(n_genres, 4.0))
        author_genre = rng.choice(n_genres, size=n_authors, p=genre_share)
        author_second = np.where(
            rng.random(n_authors) < 0.3, rng.choice(n_genres, size=n_authors), -1
        )
        author_theme = author_genre * 3 + rng.integers(0, 3, size=n_authors)
        country_share = np.array([c[3] for c in COUNTRIES])
        author_country = rng.choice(
            len(COUNTRIES), size=n_authors, p=country_share / country_share.sum()
        )
        # Heavy-tailed productivity: a few authors write many books.
        productivity = rng.pareto(1.5, size=n_authors) + 1.0
        book_author = rng.choice(n_authors, size=n_items, p=productivity / productivity.sum())
        book_author[:n_authors] = np.arange(n_authors)[: min(n_authors, n_items)]  # everyone writes

        # Publishers specialise in three genres each.
        publisher_genres = np.array([rng.choice(n_genres, 3, replace=False) for _ in PUBLISHERS])

        item_genres = np.zeros((n_items, n_genres), dtype=np.int8)
        item_themes = np.zeros((n_items, n_themes), dtype=np.int8)
        item_publisher = np.empty(n_items, dtype=np.int64)
        rows_items, rows_triples = [], []
        for i in range(n_items):
            a = book_author[i]
            second = author_second[a]
            primary = second if second >= 0 and rng.random() < 0.25 else author_genre[a]
            genres = [primary]
            if rng.random() < 0.2:
                other = int(rng.integers(n_genres))
                if other != primary:
                    genres.append(other)
            # Themes: the author's favourite often, the rest from the book's genres.
            n_book_themes = int(rng.choice([1, 2, 3], p=[0.3, 0.5, 0.2]))
            pool = [g * 3 + k for g in genres for k in range(3)]
            chosen: list[int] = []
            if author_theme[a] in pool and rng.random() < 0.6:
                chosen.append(int(author_theme[a]))
            while len(chosen) < min(n_book_themes, len(pool)):
                t = int(rng.choice(pool))
                if t not in chosen:
                    chosen.append(t)
            specialists = np.flatnonzero((publisher_genres == primary).any(axis=1))
            use_specialist = specialists.size and rng.random() < 0.8
            publisher = int(rng.choice(specialists if use_specialist else len(PUBLISHERS)))
            item_genres[i, genres] = 1
            item_themes[i, chosen] = 1
            item_publisher[i] = publisher
            rows_items.append((genres, chosen))

        author_language = np.array(
            [languages.index(COUNTRIES[c][2]) for c in author_country], dtype=np.int64
        )
        # Most books appear in their author's language; some only in English translation.
        item_language = author_language[book_author].copy()
        translated = rng.random(n_items) < 0.25
        item_language[translated] = languages.index("English")
        years = np.clip(2018 - np.floor(rng.exponential(14.0, n_items)), 1950, 2018).astype(int)

        item_ids = [f"b{i + 1:05d}" for i in range(n_items)]
        author_ids = [f"author:{_slug(name)}" for name in author_names]
        titles, descriptions = [], []
        for i, (genres, chosen) in enumerate(rows_items):
            title, description = _text(rng, genres, chosen, author_names[book_author[i]])
            titles.append(title)
            descriptions.append(description)
        items = pd.DataFrame(
            {
                "item_id": item_ids,
                "title": titles,
                "description": descriptions,
                "year": [str(y) for y in years],
                "language": [languages[k] for k in item_language],
            }
        )

        genre_ids = [f"genre:{g.slug}" for g in GENRES]
        theme_ids = [f"theme:{t.slug}" for t in themes]
        publisher_ids = [f"publisher:{_slug(p[0])}" for p in PUBLISHERS]
        country_ids = [f"country:{c[0]}" for c in COUNTRIES]
        entities = pd.DataFrame(
            [(f"genre:{slug}", name, "genre") for slug, name in ROOT_GENRES.items()]
            + [(gid, g.name, "genre") for gid, g in zip(genre_ids, GENRES, strict=True)]
            + [(tid, t.name, "theme") for tid, t in zip(theme_ids, themes, strict=True)]
            + [(aid, name, "author") for aid, name in zip(author_ids, author_names, strict=True)]
            + [(pid, p[0], "publisher") for pid, p in zip(publisher_ids, PUBLISHERS, strict=True)]
            + [(cid, c[1], "country") for cid, c in zip(country_ids, COUNTRIES, strict=True)],
            columns=["entity_id", "name", "type"],
        )

        for gid, g in zip(genre_ids, GENRES, strict=True):
            rows_triples.append((gid, "SUBGENRE_OF", f"genre:{g.root}"))
        for k, tid in enumerate(theme_ids):
            rows_triples.append((tid, "PART_OF", genre_ids[k // 3]))
        for a, aid in enumerate(author_ids):
            rows_triples.append((aid, "WRITES", genre_ids[author_genre[a]]))
            rows_triples.append((aid, "BORN_IN", country_ids[author_country[a]]))
        for pid, (_, code) in zip(publisher_ids, PUBLISHERS, strict=True):
            rows_triples.append((pid, "BASED_IN", f"country:{code}"))
        for i, (genres, chosen) in enumerate(rows_items):
            item = item_ids[i]
            rows_triples.append((item, "WRITTEN_BY", author_ids[book_author[i]]))
            rows_triples += [(item, "HAS_GENRE", genre_ids[g]) for g in genres]
            rows_triples += [(item, "ABOUT", theme_ids[t]) for t in chosen]
            rows_triples.append((item, "PUBLISHED_BY", publisher_ids[item_publisher[i]]))
        triples = pd.DataFrame(rows_triples, columns=["head", "relation", "tail"])
        return cls(
            items=items,
            entities=entities,
            triples=triples,
            item_genres=item_genres,
            item_themes=item_themes,
            item_language=item_language,
            languages=languages,
        )


def _text(
    rng: np.random.Generator, genres: list[int], chosen: list[int], author: str
) -> tuple[str, str]:
    """Title from the genre's adjectives and the themes' nouns; description naming all of them."""
    genre = GENRES[genres[0]]
    main = _theme_of(chosen[0])
    noun = str(rng.choice(main.nouns))
    other = _theme_of(chosen[-1])
    noun2 = str(rng.choice([n for n in other.nouns if n != noun] or [noun]))
    adjective = str(rng.choice(genre.adjectives))
    pattern = int(rng.integers(4))
    title = (
        f"The {adjective} {noun}",
        f"The {noun} of {noun2}",
        f"{adjective} {noun}",
        f"A {noun} in the {noun2}",
    )[pattern]
    genre_words = " and ".join(GENRES[g].name.lower() for g in genres)
    phrases = [str(rng.choice(_theme_of(t).phrases)) for t in chosen]
    plot = ", ".join(phrases[:-1]) + (" and " if len(phrases) > 1 else "") + phrases[-1]
    verb = "follows" if genre.form == "novel" else "explores"
    tone = str(rng.choice(genre.tones))
    article = "an" if tone[0] in "aeiou" else "a"
    closing = str(rng.choice(CLOSINGS))
    description = (
        f"{title} is {article} {tone} {genre_words} {genre.form} by {author}. "
        f"It {verb} {plot}. {closing}"
    ).strip()
    return title, description


def _theme_of(index: int) -> Theme:
    return GENRES[index // 3].themes[index % 3]


def _users(rng: np.random.Generator, n_users: int) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    n_genres = len(GENRES)
    age = rng.choice(len(AGE_GROUPS), size=n_users, p=AGE_SHARES)
    user_share = np.array([c[4] for c in COUNTRIES])
    country = rng.choice(len(COUNTRIES), size=n_users, p=user_share / user_share.sum())
    # Younger readers lean to genres with youth appeal, older ones away from them.
    youth = np.array([g.youth_appeal for g in GENRES])
    lean = youth[None, :] ** (1.0 - age[:, None] / 2.0)
    base = TASTE_CONCENTRATION * lean / lean.mean(axis=1, keepdims=True)
    genre_taste = np.vstack([rng.dirichlet(alpha) for alpha in base])
    drift = np.vstack([rng.dirichlet(alpha) for alpha in base])
    later_taste = 0.7 * genre_taste + 0.3 * drift
    # Three favourite themes, drawn from the genres the user likes.
    theme_weight = np.repeat(genre_taste, 3, axis=1) + 1e-3
    favourite = np.zeros((n_users, n_genres * 3), dtype=np.int8)
    for u in range(n_users):
        p = theme_weight[u] / theme_weight[u].sum()
        favourite[u, rng.choice(n_genres * 3, size=3, replace=False, p=p)] = 1
    device_pref = rng.dirichlet(np.full(len(DEVICES), 0.7), size=n_users)
    users = pd.DataFrame(
        {
            "user_id": [f"u{u + 1:05d}" for u in range(n_users)],
            "age_group": [AGE_GROUPS[a] for a in age],
            "country": [COUNTRIES[c][1] for c in country],
        }
    )
    taste = {
        "genre": genre_taste,
        "later_genre": later_taste,
        "favourite": favourite,
        "country": country,
        "device": device_pref,
    }
    return users, taste


def _interactions(
    rng: np.random.Generator,
    catalogue: _Catalogue,
    users: pd.DataFrame,
    taste: dict[str, np.ndarray],
    mean_per_user: float,
) -> pd.DataFrame:
    n_items = len(catalogue.items)
    n_users = len(users)

    # Popularity: a power law over a random ranking; ~5 % of items nobody reads.
    rank = rng.permutation(n_items) + 1
    log_rank = -np.log(rank)
    cold = rng.random(n_items) < 0.05
    log_rank[cold] = -np.inf

    # Reading languages: English and the user's own language.
    languages = catalogue.languages
    user_language = np.array([languages.index(COUNTRIES[c][2]) for c in taste["country"]])
    reads = (catalogue.item_language[None, :] == user_language[:, None]) | (
        catalogue.item_language[None, :] == languages.index("English")
    )

    # Each book's first and (if any) second genre; a two-genre book counts the better one.
    first_genre = catalogue.item_genres.argmax(axis=1)
    masked = np.where(catalogue.item_genres > 0, np.arange(len(GENRES))[None, :], -1)
    second_genre = masked.max(axis=1)
    themes = catalogue.item_themes.T.astype(np.int64)

    def log_affinity(genre_taste: np.ndarray) -> np.ndarray:
        log_taste = np.log(genre_taste + 1e-3)
        genre_part = np.maximum(log_taste[:, first_genre], log_taste[:, second_genre])
        theme_part = THEME_WEIGHT * (taste["favourite"].astype(np.int64) @ themes)
        return GENRE_WEIGHT * genre_part + theme_part + LANGUAGE_WEIGHT * reads

    def choice_logits(affinity: np.ndarray) -> np.ndarray:
        # Two reasons to pick a book: taste (times popularity) or "everyone reads it".
        by_taste = affinity + POPULARITY_EXPONENT * log_rank[None, :]
        by_taste -= _logsumexp(by_taste)
        bestseller = BESTSELLER_EXPONENT * log_rank[None, :]
        bestseller -= _logsumexp(bestseller)
        return np.logaddexp(
            np.log(1 - BESTSELLER_SHARE) + by_taste, np.log(BESTSELLER_SHARE) + bestseller
        )

    early, late = log_affinity(taste["genre"]), log_affinity(taste["later_genre"])
    counts = np.clip(
        np.round(
            rng.lognormal(np.log(mean_per_user) - ACTIVITY_SPREAD**2 / 2, ACTIVITY_SPREAD, n_users)
        ),
        5,
        max(5, int(0.5 * (~cold).sum())),
    ).astype(int)
    n_early = np.ceil(0.7 * counts).astype(int)

    # Sampling without replacement in proportion to exp(score): Gumbel top-k.
    keys = choice_logits(early) + rng.gumbel(size=(n_users, n_items))
    order = np.argsort(-keys, axis=1)
    chosen_early = np.zeros((n_users, n_items), dtype=bool)
    rows = np.arange(n_users)[:, None]
    chosen_early[rows, order] = np.arange(n_items)[None, :] < n_early[:, None]
    keys = choice_logits(late) + rng.gumbel(size=(n_users, n_items))
    keys[chosen_early] = -np.inf
    order_late = np.argsort(-keys, axis=1)
    chosen_late = np.zeros((n_users, n_items), dtype=bool)
    chosen_late[rows, order_late] = np.arange(n_items)[None, :] < (counts - n_early)[:, None]

    frames = []
    for phase, chosen, affinity in ((0, chosen_early, early), (1, chosen_late, late)):
        u, i = np.nonzero(chosen & np.isfinite(log_rank)[None, :])
        frames.append(pd.DataFrame({"u": u, "i": i, "phase": phase, "aff": affinity[u, i]}))
    events = pd.concat(frames, ignore_index=True)
    # Random order within a phase, the early phase first; then increasing times per user.
    events["shuffle"] = rng.random(len(events))
    events = events.sort_values(["u", "phase", "shuffle"], ignore_index=True)
    per_user = np.bincount(events["u"].to_numpy(), minlength=n_users)
    start = rng.integers(START, END - 120 * 86_400, size=n_users)
    gaps = np.maximum(1, np.round(rng.exponential(3 * 86_400, len(events)))).astype(np.int64)
    cumulative = events.assign(g=gaps).groupby("u")["g"].cumsum().to_numpy()
    timestamps = np.repeat(start, per_user) + cumulative

    # Ratings rise with affinity (standardised per user), plus noise.
    aff = events["aff"].to_numpy()
    user_mean = events.groupby("u")["aff"].transform("mean").to_numpy()
    user_std = events.groupby("u")["aff"].transform("std").fillna(1.0).to_numpy() + 1e-6
    z = (aff - user_mean) / user_std
    ratings = np.clip(np.round(3.6 + 0.7 * z + rng.normal(0, 0.7, len(events))), 1, 5)

    device_cdf = np.cumsum(taste["device"], axis=1)[events["u"].to_numpy()]
    device = (rng.random(len(events))[:, None] > device_cdf).sum(axis=1).clip(0, len(DEVICES) - 1)

    return pd.DataFrame(
        {
            "user_id": users["user_id"].to_numpy()[events["u"].to_numpy()],
            "item_id": catalogue.items["item_id"].to_numpy()[events["i"].to_numpy()],
            "timestamp": timestamps.astype(np.int64),
            "rating": ratings.astype(np.int64),
            "device": np.array(DEVICES)[device],
        }
    )


def _logsumexp(x: np.ndarray) -> np.ndarray:
    """log(sum(exp(x))) over the last axis, kept as a column; safe with -inf entries."""
    top = np.max(x, axis=-1, keepdims=True)
    return top + np.log(np.exp(x - top).sum(axis=-1, keepdims=True))
