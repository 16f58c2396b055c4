"""Explanations: the best knowledge-graph paths from a user's history to an item, as sentences.

1. `user_recent_items` (Cypher) gives the user's most recent interactions — from the
   graph, so interactions recorded through the API count at once.
2. `explain_paths` (Cypher) returns every KG path of 1–3 hops between those items and
   the target. The statement spells out the label of each hop (Item/Entity): a
   variable-length `[*1..3]` would also walk INTERACTED edges through other users and
   took 3–40 s per call on Last.fm, the fixed shapes take milliseconds.
3. The paths are merged into one small networkx graph and ranked by Yen's k shortest
   simple paths (`nx.shortest_simple_paths`) from a virtual "history" node to the
   target, with cost

       cost(path) = hops + Σ_{interior nodes n} (α · log(1 + deg(n)) + β · [n has no name])

   where deg is the node's degree in the run's KG: a shared author of five books says
   more than a shared genre of five thousand, a short path beats a long one, and a path
   that can name its entities beats one through nameless ones (ML-100K's Freebase MIDs
   beside its DBpedia names). Paths
   through a second history item are skipped (that item's own, shorter path is listed).
   Paths that cannot be told without an id (an unnamed entity of no telling type, such
   as a Satori node, is all they pass through) are skipped.
4. Each path becomes a sentence, one template per length (`sentence`): "You liked X,
   which shares author Y with Z."; an entity without a name is "a director", never its
   id (ML-100K's Freebase entities have none).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import networkx as nx
from tailgraph.encoders import humanize_name

RARITY_WEIGHT = 0.5  # α above: one hop ≈ the rarity cost of an entity with ~6 neighbours
# β above: a node without a name ("a director") costs one hop more than a named one, so a
# path that can name what the items share ("actor Helen Hunt") ranks first.
UNNAMED_COST = 1.0
SOURCE = ("history", "")


@dataclass(frozen=True)
class Node:
    id: str
    label: str
    name: str
    type: str | None


@dataclass(frozen=True)
class Step:
    relation: str
    forward: bool  # True: the relationship points from the left node to the right one


@dataclass(frozen=True)
class RankedPath:
    nodes: list[Node]
    steps: list[Step]
    cost: float
    sentence: str


def _key(node: Node) -> tuple[str, str]:
    return (node.label, node.id)


def parse_rows(rows: list[dict[str, Any]]) -> list[tuple[list[Node], list[Step]]]:
    """Rows of `explain_paths` → (nodes, steps), dropping paths that revisit a node."""
    out = []
    for row in rows:
        nodes = [
            Node(
                str(n.get("id")),
                str(n.get("label") or ""),
                str(n.get("name") or ""),  # "" = unnamed: never shown as its id
                n.get("type"),
            )
            for n in row["nodes"]
        ]
        steps = [Step(str(r["type"]), bool(r["forward"])) for r in row["relationships"]]
        if len({_key(n) for n in nodes}) == len(nodes) and len(steps) == len(nodes) - 1:
            out.append((nodes, steps))
    return out


def rank_paths(
    paths: list[tuple[list[Node], list[Step]]],
    history: set[str],
    target: str,
    degree: dict[tuple[str, str], int],
    limit: int,
    max_hops: int = 3,
) -> list[RankedPath]:
    """The `limit` cheapest paths (see module docstring) from any history item to `target`."""
    graph = nx.Graph()
    info: dict[tuple[str, str], Node] = {}
    target_key = ("Item", target)

    def node_cost(key: tuple[str, str]) -> float:
        if key in (target_key, SOURCE) or (key[0] == "Item" and key[1] in history):
            return 0.0
        unnamed = UNNAMED_COST if display_name(info[key]) is None else 0.0
        return RARITY_WEIGHT * math.log1p(degree.get(key, 1)) + unnamed

    for nodes, steps in paths:
        for node in nodes:
            info.setdefault(_key(node), node)
        for left, right, step in zip(nodes, nodes[1:], steps, strict=False):
            a, b = _key(left), _key(right)
            if not graph.has_edge(a, b):
                graph.add_edge(a, b, step=(a, step), weight=1 + (node_cost(a) + node_cost(b)) / 2)
        start = _key(nodes[0])
        graph.add_edge(SOURCE, start, weight=0.0)
    if target_key not in graph or SOURCE not in graph:
        return []
    ranked: list[RankedPath] = []
    for path in nx.shortest_simple_paths(graph, SOURCE, target_key, weight="weight"):
        keys = path[1:]
        hops = len(keys) - 1
        interior_history = any(k[0] == "Item" and k[1] in history for k in keys[1:-1])
        nodes = [info[k] for k in keys]
        if 1 <= hops <= max_hops and not interior_history and explainable(nodes):
            steps = []
            for a, b in pairwise(keys):
                origin, step = graph.edges[a, b]["step"]
                steps.append(Step(step.relation, step.forward == (origin == a)))
            cost = hops + sum(node_cost(k) for k in keys[1:-1])
            ranked.append(RankedPath(nodes, steps, round(cost, 4), sentence(nodes, steps)))
        if len(ranked) >= limit or hops > max_hops + 2:
            break
    return ranked


# ---- sentences ---------------------------------------------------------------------------
# Entity types that say nothing about the entity (the adapters' neutral types).
GENERIC_TYPES = frozenset({"", "entity", "freebase", "satori"})
# Ids that are no names: Freebase MIDs (`m.06nm1`, `g.11b6…`), Satori's `satori:123`.
_OPAQUE = re.compile(r"^(?:[mg]\.[0-9a-z_]+|satori:\d+)$")
# Freebase relation names (`film.film.directed_by`, made `FILM_FILM_DIRECTED_BY`) end in the
# property; its domain and type words go. Types of several words hide where the property
# starts, so the properties of more than one word in the public datasets are listed, and
# any other is its last word.
_FREEBASE_DOMAINS = frozenset(
    {"film", "music", "people", "award", "location", "tv", "games", "cvg", "event", "type",
     "business", "fictional", "book", "common"}
)  # fmt: skip
_FREEBASE_PROPERTIES = tuple(
    p.split()
    for p in (
        "films in this genre", "place of death", "place of birth", "country of origin",
        "games published", "tracks produced", "awards won", "award won", "award nominations",
        "award nomination", "instruments played", "starring roles", "regular cast",
        "production companies", "production company", "executive producer", "art director",
        "directed by", "produced by", "written by", "contained by", "time zone",
        "subject key", "content rating",
    )
)  # fmt: skip
_VERBS = frozenset({"writes", "stars", "features", "contains", "includes", "directs", "plays"})
_PREPOSITIONS = frozenset(
    {"by", "to", "of", "in", "with", "from", "on", "at", "for", "as", "about", "into"}
)


def display_name(node: Node) -> str | None:
    """The node's name, or None where the graph holds only an opaque id."""
    name = node.name.strip()
    return None if not name or _OPAQUE.match(name) else name


def _kind(node: Node) -> str | None:
    kind = humanize_name(node.type) if node.type else ""
    return None if kind in GENERIC_TYPES else kind


def _article(noun: str) -> str:
    return f"an {noun}" if noun[:1] in "aeiou" else f"a {noun}"


def _mention(node: Node, with_kind: bool = True) -> str:
    """How a node on the path is named: "director Jane Doe", "Jane Doe", "a director", or
    "a related entity" (an unnamed entity of no telling type)."""
    name, kind = display_name(node), _kind(node)
    if name is not None:
        return f"{kind} {name}" if kind and with_kind else name
    if node.label == "Item":
        return "another item"
    return _article(kind) if kind else "a related entity"


def relation_words(relation: str) -> list[str]:
    """`ASSOCIATED_BAND` → [associated, band]; `FILM_FILM_DIRECTED_BY` → [directed, by];
    `FILM_PRODUCTION_COMPANY_FILMS` → [films]; `dbo:genre` → [genre]."""
    words = humanize_name(relation).split()
    if words[:1] == ["dbo"]:
        words = words[1:]
    if len(words) >= 2 and words[0] in ("has", "have"):  # HAS_GENRE: the genre
        words = words[1:]
    if len(words) >= 3 and words[0] in _FREEBASE_DOMAINS:
        known = [p for p in _FREEBASE_PROPERTIES if words[-len(p) :] == p and len(p) < len(words)]
        words = max(known, key=len) if known else words[-1:]
    return words or ["related"]


def _head_noun(words: list[str]) -> str:
    """The noun a relation phrase is about: `films` in "films in this genre", `awards` in
    "awards won", `member` in "band member"."""
    for k, word in enumerate(words):
        if word in _PREPOSITIONS and k:
            return words[k - 1]
    if len(words) >= 2 and (words[-1].endswith("ed") or words[-1] == "won"):
        return words[-2]
    return words[-1]


def _direct(liked: str, step: Step, target: str) -> str:
    """One hop between two items, phrased by the kind of relation name: a preposition last
    (`similar to`, `directed by`) reads "which is similar to"; a verb (`writes`) as one; a
    plural noun (`films`, `award nominations`) "whose films include"; any other noun
    (`sequel`, `associated band`) "whose sequel is"."""
    words = relation_words(step.relation)
    phrase = " ".join(words)
    if words[-1] in _PREPOSITIONS:
        if step.forward:
            return f"You liked {liked}, which is {phrase} {target}."
        return f"You liked {liked}; {target} is {phrase} it."
    if len(words) == 1 and words[0] in _VERBS:
        if step.forward:
            return f"You liked {liked}, which {phrase} {target}."
        return f"You liked {liked}; {target} {phrase} it."
    head = _head_noun(words)
    if head.endswith("s") and not head.endswith("ss"):
        if step.forward:
            return f"You liked {liked}, whose {phrase} include {target}."
        return f"You liked {liked}, one of the {phrase} of {target}."
    if step.forward:  # liked -[rel]-> target: the target is the liked item's <rel>
        return f"You liked {liked}, whose {phrase} is {target}."
    return f"You liked {liked}, the {phrase} of {target}."


def explainable(nodes: list[Node]) -> bool:
    """Whether a path can be told without showing an id: its ends are named items and it
    passes through at least one node that is named or of a telling type."""
    ends = display_name(nodes[0]) is not None and display_name(nodes[-1]) is not None
    interior = nodes[1:-1]
    return ends and (not interior or any(display_name(n) is not None or _kind(n) for n in interior))


def sentence(nodes: list[Node], steps: list[Step]) -> str:
    """A sentence for one path from a liked item (first) to the recommended one (last).

    One template per length. Relation names only shape the one-hop sentence (item to item:
    see `_direct`); longer paths are told by the nodes they pass, named by their entity type
    ("director", "genre"), which is a noun in every dataset, so every relation type reads
    grammatically. A node without a name is "a director" (or "a related entity"), never
    its id.
    """
    text = _sentence(nodes, steps)
    # A name that ends the sentence with its own full stop ("Andrew W.K.") takes no second.
    return text[:-1] if text.endswith(("..", "!.", "?.")) else text


def _sentence(nodes: list[Node], steps: list[Step]) -> str:
    liked, target = display_name(nodes[0]) or "an item", display_name(nodes[-1]) or "this item"
    if len(nodes) == 2:
        return _direct(liked, steps[0], target)
    if len(nodes) == 3:
        middle = nodes[1]
        if middle.label == "Entity":
            return f"You liked {liked}, which shares {_mention(middle)} with {target}."
        return f"You liked {liked}; {target} is connected to it through {_mention(middle)}."
    through = [_mention(n) for n in nodes[1:-1]]
    listed = ", ".join(through[:-1]) + f" and {through[-1]}"
    return f"You liked {liked}; {target} is connected to it through {listed}."
