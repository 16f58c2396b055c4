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

       cost(path) = hops + α · Σ_{interior nodes n} log(1 + deg(n))

   where deg is the node's degree in the run's KG: a shared author of five books says
   more than a shared genre of five thousand, and a short path beats a long one. Paths
   through a second history item are skipped (that item's own, shorter path is listed).
4. Each path becomes a sentence: "You liked X, which shares author Y with Z."
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import networkx as nx
from tailgraph.encoders import humanize_name

RARITY_WEIGHT = 0.5  # α above: one hop ≈ the rarity cost of an entity with ~6 neighbours
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
                str(n.get("name") or n.get("id")),
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
        return RARITY_WEIGHT * math.log1p(degree.get(key, 1))

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
        if 1 <= hops <= max_hops and not interior_history:
            nodes = [info[k] for k in keys]
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
def _kind(node: Node) -> str:
    return humanize_name(node.type) if node.type else ("item" if node.label == "Item" else "")


def _fact(left: Node, step: Step, right: Node) -> str:
    head, tail = (left, right) if step.forward else (right, left)
    return f"{head.name} {humanize_name(step.relation)} {tail.name}"


def sentence(nodes: list[Node], steps: list[Step]) -> str:
    """A readable sentence for one path from a liked item (first) to the recommended one."""
    liked, target = nodes[0], nodes[-1]
    if len(nodes) == 2:
        step = steps[0]
        relation = humanize_name(step.relation)
        if step.forward:  # liked -[rel]-> target: the target is the liked item's <rel>
            return f"You liked {liked.name}, whose {relation} is {target.name}."
        return f"You liked {liked.name}, the {relation} of {target.name}."
    if len(nodes) == 3 and nodes[1].label == "Entity":
        middle = nodes[1]
        kind = _kind(middle)
        shared = f"{kind} {middle.name}" if kind else middle.name
        return f"You liked {liked.name}, which shares {shared} with {target.name}."
    if len(nodes) == 4 and nodes[1].label == "Entity" and nodes[2].label == "Entity":
        first, second = nodes[1], nodes[2]
        kind_first, kind_second = _kind(first), _kind(second)
        link = humanize_name(steps[1].relation)
        verb = link if steps[1].forward else f"is the {link} of"
        whose = f"whose {kind_first} {first.name}" if kind_first else f"linked to {first.name},"
        of_target = f"the {kind_second} of {target.name}" if kind_second else target.name
        return f"You liked {liked.name}, {whose} {verb} {second.name}, {of_target}."
    facts = "; ".join(_fact(a, s, b) for a, s, b in zip(nodes, steps, nodes[1:], strict=False))
    return f"You liked {liked.name}: {facts}."
