"""Request and response models: validation and the OpenAPI schema in one place.

Bounds are part of the schema (and so of the docs and of the generated-input tests):
`k` 1..200, tail boost 0..10, at most 200 session items, 2,000 query characters, 2,000
characters per attribute or context value. Floats are finite (`allow_inf_nan=False`): a
NaN would otherwise reach the scores (and the graph) as a perfectly valid JSON number to
Python's parser.

Every request string is *plain text* (`plain_text`): no NUL character and no unpaired
surrogate, refused with a 422 naming the field. The graph client sends parameters inside
the statement text and the server reads it as a C string, so a NUL cut the statement short
(a 500, or a truncated value stored); a lone surrogate (JSON `"\ud800"`, which Python's
parser accepts) cannot be encoded as UTF-8 for the graph, the encoder or the answer.
Refusing them is the choice: storing them "safely" would need an escape every reader of
the graph must undo, for characters no real text contains.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

K_MAX = 200
SESSION_MAX = 200
QUERY_MAX = 2000
TAIL_BOOST_MAX = 10.0
SCALAR_TEXT_MAX = 2000

_SURROGATE = re.compile("[\ud800-\udfff]")


def plain_text(value: object) -> object:
    """Refuse text with NUL or an unpaired surrogate (a paired JSON escape such as
    "\\ud83d\\ude00" is already one real character by now); anything else passes on."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("expected text without NUL characters (\\x00)")
        if _SURROGATE.search(value):
            raise ValueError("expected valid Unicode text; found an unpaired surrogate")
    return value


PlainText = BeforeValidator(plain_text)


# Ids are whatever the dataset used (numbers, "b00042", "dbpedia:Dance_music"): any
# printable text without control characters, bounded so a request stays small.
Id = Annotated[
    str,
    StringConstraints(min_length=1, max_length=256, pattern=r"^[^\x00-\x1f\x7f]+$"),
    PlainText,
]
# Property names become graph property keys: the identifier rule of kg.cypher_files.
PropertyKey = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$"),
    PlainText,
]
FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]
# Attribute/context values; smart-mode union: JSON true stays a bool, 3 an int, 2.5 a float.
Scalar = Annotated[
    bool | int | FiniteFloat | Annotated[str, StringConstraints(max_length=SCALAR_TEXT_MAX)],
    PlainText,
]
EntityType = Annotated[str, StringConstraints(min_length=1, max_length=64), PlainText]
Popularity = Literal["head", "mid", "tail", "cold"]

RESERVED_PROPERTIES = {
    "id",
    "key",
    "ts",
    "title",
    "description",
    "name",
    "type",
    "weight",
    "rating",
    "kind",
}


def _without_reserved_names(value: dict[str, object]) -> dict[str, object]:
    """Property maps the graph stores: no key may shadow a property Tailgraph writes."""
    clash = sorted(set(value) & RESERVED_PROPERTIES)
    if clash:
        raise ValueError(f"reserved property names {clash}; use other names")
    return value


# ---- shared pieces -----------------------------------------------------------------------
class ScoredItem(BaseModel):
    item_id: str
    title: str
    score: float = Field(description="Model score (cosine for similar items); higher is better.")
    popularity: Popularity = Field(
        description="Bucket by training interactions: head = top 20 % of items, tail = bottom "
        "50 %, mid = the rest; cold = no training interaction (incl. items added live)."
    )
    interactions: int = Field(description="Training interactions of the item in the run.")


class RecommendationFilters(BaseModel):
    """Options shared by the recommendation endpoints (query string or body). An unknown
    option is a 422 naming it: a typo (`exclude_sen=false`) must not be silently ignored."""

    model_config = ConfigDict(extra="forbid")

    k: int = Field(default=20, ge=1, le=K_MAX, description="How many items.")
    exclude_seen: bool = Field(
        default=True, description="Leave out items the user already interacted with."
    )
    entity_id: Id | None = Field(
        default=None, description="Only items linked in the KG to this entity (its id)."
    )
    entity_type: EntityType | None = Field(
        default=None, description="Only items linked to an entity of this type (e.g. genre)."
    )
    tail_boost: float = Field(
        default=0.0,
        ge=0.0,
        le=TAIL_BOOST_MAX,
        description="λ in score − λ·log(1 + training interactions): 0 = off; higher favours "
        "the long tail.",
    )


class Recommendations(BaseModel):
    user_id: str | None = Field(description="The user, or null for an anonymous request.")
    items: list[ScoredItem]
    run: str = Field(description="The run directory the answer came from.")


# ---- anonymous -----------------------------------------------------------------------------
class AnonymousRequest(RecommendationFilters):
    """A visitor the model does not know: any of recent items, a text query, attributes."""

    model_config = ConfigDict(extra="forbid")

    item_ids: list[Id] = Field(
        default_factory=list,
        max_length=SESSION_MAX,
        description="Items of the current session, most recent first.",
    )
    query: Annotated[str, StringConstraints(max_length=QUERY_MAX), PlainText] | None = Field(
        default=None, description="Free text, encoded at request time by the run's text model."
    )
    attributes: dict[PropertyKey, Scalar] = Field(
        default_factory=dict,
        max_length=32,
        description="User attributes the model was trained with (see GET /run).",
    )


# ---- items ---------------------------------------------------------------------------------
class Link(BaseModel):
    model_config = ConfigDict(extra="forbid")

    relation: Annotated[str, StringConstraints(min_length=1, max_length=128), PlainText] = Field(
        description="A forward relation of the run's KG (e.g. HAS_GENRE); the new item is its head."
    )
    target: Id = Field(description="An entity id, or the id of an item the run was trained on.")


class NewItemRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: Id
    title: Annotated[str, StringConstraints(min_length=1, max_length=500), PlainText]
    description: Annotated[str, StringConstraints(max_length=10_000), PlainText] | None = None
    attributes: dict[PropertyKey, Scalar] = Field(default_factory=dict, max_length=50)
    links: list[Link] = Field(default_factory=list, max_length=100)

    @field_validator("title")
    @classmethod
    def _title_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the title is blank; expected some text")
        return value

    @field_validator("attributes")
    @classmethod
    def _not_reserved(cls, value: dict[str, object]) -> dict[str, object]:
        return _without_reserved_names(value)


class LinkOut(BaseModel):
    relation: str
    target: str
    name: str
    type: str | None


class ItemOut(BaseModel):
    item_id: str
    title: str
    popularity: Popularity
    interactions: int
    added_live: bool = Field(description="Added through the API after the run was trained.")
    links: list[LinkOut] = Field(description="The item's outgoing KG links in the run.")


class SimilarItems(BaseModel):
    item_id: str
    items: list[ScoredItem]
    run: str


# ---- interactions ------------------------------------------------------------------------------
class InteractionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    item_id: Id
    timestamp: float | None = Field(
        default=None,
        ge=0,
        le=1e11,
        allow_inf_nan=False,
        description="Unix seconds; default: now.",
    )
    weight: FiniteFloat | None = None
    rating: FiniteFloat | None = None
    kind: Annotated[str, StringConstraints(min_length=1, max_length=64), PlainText] | None = None
    context: dict[PropertyKey, Scalar] = Field(
        default_factory=dict, max_length=20, description="Context properties (device, ...)."
    )

    @field_validator("context")
    @classmethod
    def _not_reserved(cls, value: dict[str, object]) -> dict[str, object]:
        return _without_reserved_names(value)


class InteractionRecorded(BaseModel):
    user_id: str
    item_id: str
    key: str = Field(description="The interaction's key in the graph (idempotent MERGE).")
    timestamp: float
    history: list[str] = Field(description="The user's recent items now, most recent first.")


# ---- explanations ------------------------------------------------------------------------------
class PathNode(BaseModel):
    id: str
    label: str
    name: str | None = Field(
        description="The entity's name or the item's title; null where the graph has none "
        "(an opaque id such as a Freebase MID is never shown as a name)."
    )
    type: str | None


class PathStep(BaseModel):
    relation: str
    forward: bool = Field(description="True: the relationship points towards the recommended item.")


class ExplanationPath(BaseModel):
    sentence: str
    hops: int
    cost: float = Field(
        description="The path's rank key, lower = better: hops + Σ over its interior nodes of "
        "0.5·log(1 + KG degree), + 1 for a node without a name, so a short path through rare, "
        "named entities (an author of five books) beats one through a hub (a genre of "
        "thousands)."
    )
    nodes: list[PathNode]
    steps: list[PathStep]


class Explanation(BaseModel):
    user_id: str
    item_id: str
    title: str
    paths: list[ExplanationPath]
    history_considered: int = Field(description="Recent interactions the paths start from.")


# ---- ops ---------------------------------------------------------------------------------------
class Health(BaseModel):
    status: Literal["ok"] = "ok"


class RunInfo(BaseModel):
    run_dir: str
    dataset: str | None
    loaded_at: float
    items: int
    items_added: int
    users: int
    entities: int
    relations: list[str]
    entity_types: list[str]
    user_attributes: dict[str, list[str]]
    text_model: str | None


class ReadyRun(BaseModel):
    """What an open readiness probe tells about the served run: no paths, no vocabularies."""

    dataset: str | None
    loaded_at: float
    items: int
    users: int


class Ready(BaseModel):
    ready: bool
    run: ReadyRun | None
    graph: Literal["up", "down"] = Field(
        description="down: unreachable, or it cannot write now (full disk, out of memory)."
    )
    encoder: Literal["loaded", "lazy"]


class ReloadRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    run_dir: Annotated[str, StringConstraints(min_length=1, max_length=4096), PlainText] | None = (
        Field(
            default=None,
            description="Run directory to load: a folder inside the runs folder "
            "(TAILGRAPH_API_RUNS_DIR), by name or by path; default: reload the one being served.",
        )
    )

    @field_validator("run_dir")
    @classmethod
    def _printable(cls, value: str | None) -> str | None:
        if value is not None and not value.isprintable():
            raise ValueError("expected a printable path")
        return value


class ReloadResult(BaseModel):
    run: RunInfo
    seconds: float
    replayed_interactions: int
    replayed_items: int
    skipped: int = Field(description="Live events the new run cannot take (unknown ids).")
    locked_seconds: float = Field(
        description="How long writes waited: the last replay round and the swap, under the "
        "write lock (the build and the earlier rounds run beside the writes)."
    )
