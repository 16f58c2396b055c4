"""Text templates: how items, entities and queries become the strings we embed.

Template version ``TEMPLATE_VERSION`` (part of every embedding-cache key; bump it whenever
any output below changes for the same input).

Item, variant ``full`` (non-empty parts only, one per line, most informative first because
truncation at ``max_length`` tokens cuts the end)::

    {title}
    {description}
    {attribute key}: {value}; {attribute key}: {value}
    {relation}: {entity name}, {entity name}; {relation}: {entity name}

Item, variant ``title`` (the catalogue without descriptions, where the KG is the only
source of facts: no description, no entity names)::

    {title}
    {attribute key}: {value}; {attribute key}: {value}

Entity::

    {name} ({type})        or just {name} when the type is missing

Query (free text typed by a user at request time)::

    {q}

Normalisation, applied to every piece: Unicode NFC, runs of whitespace (newlines included)
collapsed to one space, ends stripped. Attribute keys and relation names are humanised
(``film.film.director`` → ``director``, ``dbo:musicComposer`` → ``music composer``,
``DIRECTED_BY`` → ``directed by``). Attributes are sorted by key, relations by humanised
name and entity names alphabetically (duplicates dropped), so the same facts always give
the same string — whatever order a database returns them in — and the cache keeps hitting.

List-valued attributes (graph array properties) are joined with ``", "``.

Missing text: ``None``, NaN (pandas' empty cell), and blank strings count as missing and
are left out. An item or entity with no text at all becomes the empty string ``""``; the
encoders map ``""`` to the **zero vector** (not a unit vector): it has cosine 0 with
everything, contributes nothing to a mean, and lets the GNN supply the item's
representation from its KG neighbours. Callers see the zero row and ``stats.empty``.
A query is different: an empty query is a caller error, so :func:`query_text` raises
:class:`EmptyTextError` (a ``ValueError``; the API turns it into a 4xx).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Literal

TEMPLATE_VERSION = "1"

ItemTextVariant = Literal["full", "title"]
ITEM_TEXT_VARIANTS: tuple[ItemTextVariant, ...] = ("full", "title")

_WHITESPACE = re.compile(r"\s+")
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


class EmptyTextError(ValueError):
    """A text that must not be empty (a user's query) is empty."""


def clean_text(value: object) -> str:
    """NFC-normalised, whitespace-collapsed text; ``""`` for None, NaN and blank values."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    text = unicodedata.normalize("NFC", str(value))
    return _WHITESPACE.sub(" ", text).strip()


def is_empty_text(text: str) -> bool:
    """True when ``text`` holds nothing but whitespace (it will embed as the zero vector)."""
    return not text.strip()


def humanize_name(name: str) -> str:
    """Relation/attribute/type name → words: ``film.film.director`` → ``director``,
    ``dbo:musicComposer`` → ``music composer``, ``DIRECTED_BY`` → ``directed by``."""
    last = re.split(r"[.:/#]", clean_text(name))[-1]
    words = _CAMEL_BOUNDARY.sub(" ", last).replace("_", " ").replace("-", " ")
    return clean_text(words).lower()


def item_text(
    title: object,
    description: object = None,
    attributes: Mapping[str, object] | None = None,
    related: Sequence[tuple[str, str]] | None = None,
) -> str:
    """Variant ``full`` of the item template (see module docstring).

    ``attributes`` maps attribute names to values (``{"genre": "Comedy", "year": 1995}``);
    ``related`` lists ``(relation, entity name)`` pairs from the KG.
    """
    lines = [clean_text(title), clean_text(description)]

    attribute_parts = []
    for key, value in sorted((attributes or {}).items(), key=lambda kv: humanize_name(kv[0])):
        text = _attribute_text(value)
        if text:
            attribute_parts.append(f"{humanize_name(key)}: {text}")
    lines.append("; ".join(attribute_parts))

    names_by_relation: dict[str, dict[str, str]] = {}
    for relation, entity_name in related or ():
        name = clean_text(entity_name)
        if name:
            # casefold key: "The Beatles" and "the beatles" are one entity name
            names_by_relation.setdefault(humanize_name(relation), {}).setdefault(
                name.casefold(), name
            )
    relation_parts = [
        f"{relation}: {', '.join(names[key] for key in sorted(names))}"
        for relation, names in sorted(names_by_relation.items())
    ]
    lines.append("; ".join(relation_parts))

    return "\n".join(line for line in lines if line)


def _attribute_text(value: object) -> str:
    """An attribute value as text; list-valued properties (graph arrays) join with ", "."""
    if isinstance(value, list | tuple | set | frozenset):
        parts = [clean_text(part) for part in value]
        if isinstance(value, set | frozenset):
            parts.sort()  # sets have no order of their own; the text must not vary
        return ", ".join(part for part in parts if part)
    return clean_text(value)


def item_title_text(title: object, attributes: Mapping[str, object] | None = None) -> str:
    """Variant ``title`` of the item template: the full template without the description
    and the KG relations."""
    return item_text(title, None, attributes, None)


def build_item_text(
    variant: ItemTextVariant,
    title: object,
    description: object = None,
    attributes: Mapping[str, object] | None = None,
    related: Sequence[tuple[str, str]] | None = None,
) -> str:
    """Item text for a named variant, for code that switches variants by configuration."""
    if variant == "full":
        return item_text(title, description, attributes, related)
    if variant == "title":
        return item_title_text(title, attributes)
    raise ValueError(f"item text variant must be one of {ITEM_TEXT_VARIANTS}; got {variant!r}")


ITEM_FIELDS = ("id", "title", "description")
"""The stored item properties that are not attributes (the canonical `items` columns
`item_id`, `title`, `description`, as the graph and the snapshot store them)."""


def item_properties_text(
    properties: Mapping[str, object],
    related: Sequence[tuple[str, str]] | None = None,
    variant: ItemTextVariant = "full",
) -> str:
    """The item text of an item's stored properties: `title`, `description`, and every
    other property but `id` as an attribute. Training (`gnn.data.item_texts`, from the
    snapshot) and `tailgraph encode` (from the graph) both call this, so the embedding
    cache hits whichever wrote it."""
    attributes = {k: v for k, v in properties.items() if k not in ITEM_FIELDS}
    return build_item_text(
        variant, properties.get("title"), properties.get("description"), attributes, related
    )


def entity_text(name: object, type: object = None) -> str:
    """``"{name} ({type})"``, or ``"{name}"`` without a type; ``""`` when the name is missing
    (a type alone would make every unnamed entity of that type identical)."""
    clean_name = clean_text(name)
    if not clean_name:
        return ""
    clean_type = humanize_name(str(type)) if clean_text(type) else ""
    return f"{clean_name} ({clean_type})" if clean_type else clean_name


def query_text(q: object) -> str:
    """A user's free-text query, cleaned; raises :class:`EmptyTextError` when blank."""
    text = clean_text(q)
    if not text:
        raise EmptyTextError("query text is empty; expected at least one non-space character")
    return text
