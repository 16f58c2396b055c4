"""Text templates: documented shapes, stable order, explicit handling of missing text."""

from __future__ import annotations

import math

import pytest
from tailgraph.encoders.templates import (
    TEMPLATE_VERSION,
    EmptyTextError,
    build_item_text,
    clean_text,
    entity_text,
    humanize_name,
    is_empty_text,
    item_text,
    item_title_text,
    query_text,
)


def test_item_text_full_template() -> None:
    text = item_text(
        "Toy Story (1995)",
        "An  animated\nfilm about toys.",
        {"genre": "Animation", "release_year": 1995},
        [("film.film.director", "John Lasseter"), ("dbo:starring", "Tom Hanks")],
    )
    assert text == (
        "Toy Story (1995)\n"
        "An animated film about toys.\n"
        "genre: Animation; release year: 1995\n"
        "director: John Lasseter; starring: Tom Hanks"
    )


def test_item_text_is_independent_of_input_order_and_duplicates() -> None:
    related = [("starring", "Tom Hanks"), ("starring", "Tim Allen"), ("director", "J. L.")]
    shuffled = [related[2], related[0], ("starring", "tom hanks"), related[1]]
    attributes = {"b": "2", "a": "1"}
    assert item_text("T", None, attributes, related) == item_text(
        "T", None, dict(reversed(attributes.items())), shuffled
    )
    assert "starring: Tim Allen, Tom Hanks" in item_text("T", None, None, shuffled)


def test_missing_parts_are_left_out() -> None:
    assert item_text("Title", None, {"genre": None, "x": math.nan, "y": "  "}, []) == "Title"
    assert item_text("Title", math.nan) == "Title"
    assert item_text(None, "Only a description.") == "Only a description."


def test_list_valued_attributes_join() -> None:
    text = item_text("T", None, {"genre": ["Comedy", "", "Drama"], "tags": {"b", "a"}})
    assert text == "T\ngenre: Comedy, Drama; tags: a, b"


def test_item_with_no_text_at_all_is_the_empty_string() -> None:
    text = item_text(None, None, {}, [])
    assert text == ""
    assert is_empty_text(text)
    assert item_text("   ", "\n\t") == ""


def test_title_variant_has_no_description_and_no_entity_name() -> None:
    assert item_title_text("  Heat  (1995) ") == "Heat (1995)"
    args = ("Heat (1995)", "A crime film.", {"genre": "Crime"}, [("director", "Michael Mann")])
    assert build_item_text("title", *args) == "Heat (1995)\ngenre: Crime"
    assert build_item_text("full", *args) == item_text(*args)
    with pytest.raises(ValueError, match="variant"):
        build_item_text("summary", *args)  # type: ignore[arg-type]


def test_entity_text() -> None:
    assert entity_text("John Lasseter", "Person") == "John Lasseter (person)"
    assert entity_text("Pixar") == "Pixar"
    assert entity_text("Pixar", math.nan) == "Pixar"
    assert entity_text("", "Person") == ""
    assert entity_text(None) == ""


def test_query_text_rejects_empty_queries() -> None:
    assert query_text("  funny   movies about toys ") == "funny movies about toys"
    for blank in ("", "   ", None):
        with pytest.raises(EmptyTextError):
            query_text(blank)
    assert issubclass(EmptyTextError, ValueError)


def test_normalisation_and_names() -> None:
    assert clean_text("Cafe\u0301") == "Café"  # NFC: one code point, one hash
    assert humanize_name("dbo:musicComposer") == "music composer"
    assert humanize_name("DIRECTED_BY") == "directed by"
    assert humanize_name("film.film.director") == "director"
    assert TEMPLATE_VERSION
