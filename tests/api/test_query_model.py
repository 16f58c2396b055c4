"""`parse_query` answers every query string exactly as FastAPI's `Annotated[M, Query()]`
does (the recommend route parses its options with it), and `query_parameters` documents
the same parameters FastAPI would."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import FastAPI, Query, Request
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from tailgraph.api.service.routers.common import parse_query, query_parameters
from tailgraph.api.service.schemas import RecommendationFilters


def make_app() -> FastAPI:
    app = FastAPI()

    @app.get("/fastapi")
    async def by_fastapi(options: Annotated[RecommendationFilters, Query()]) -> dict[str, object]:
        return options.model_dump()

    @app.get("/ours", openapi_extra=query_parameters(RecommendationFilters))
    async def by_us(request: Request) -> dict[str, object]:
        return parse_query(RecommendationFilters, request.query_params).model_dump()

    return app


CLIENT = TestClient(make_app())
NAMES = ["k", "exclude_seen", "entity_id", "entity_type", "tail_boost", "other"]
VALUES = st.one_of(
    st.sampled_from(
        [
            "",
            "0",
            "1",
            "20",
            "200",
            "201",
            "-1",
            "1.5",
            "1e400",
            "nan",
            "inf",
            "-0",
            "true",
            "false",
            "yes",
            "off",
            "TRUE",
            "2",
            "x",
            " 3",
            "genre",
            "a\tb",
        ]
    ),
    st.text(max_size=8),
)
QUERIES = st.lists(st.tuples(st.sampled_from(NAMES), VALUES), max_size=6)


def answer(route: str, pairs: list[tuple[str, str]]) -> tuple[int, object]:
    response = CLIENT.get(f"/{route}?{urlencode(pairs)}")
    return response.status_code, response.json()


@settings(max_examples=400, deadline=None)
@given(QUERIES)
def test_same_answer_as_fastapi_for_any_query_string(pairs: list[tuple[str, str]]) -> None:
    assert answer("ours", pairs) == answer("fastapi", pairs)


def test_known_cases_agree_and_fail_as_expected() -> None:
    ok = [("k", "7"), ("exclude_seen", "false"), ("tail_boost", "0.5"), ("k", "9")]
    assert answer("ours", ok) == answer("fastapi", ok) == (
        200, {"k": 9, "exclude_seen": False, "entity_id": None, "entity_type": None,
              "tail_boost": 0.5},
    )  # fmt: skip
    status, body = answer("ours", [("k", "0"), ("tail_boost", "x")])
    assert status == 422
    assert isinstance(body, dict)
    assert [e["loc"] for e in body["detail"]] == [["query", "k"], ["query", "tail_boost"]]
    status, body = answer("ours", [("k", "3"), ("exclude_sen", "false")])
    assert status == 422
    assert isinstance(body, dict)
    [error] = body["detail"]
    assert error["loc"] == ["query", "exclude_sen"] and error["type"] == "extra_forbidden"


def test_documented_parameters_equal_fastapis() -> None:
    paths = CLIENT.app.openapi()["paths"]  # type: ignore[attr-defined]
    assert paths["/ours"]["get"]["parameters"] == paths["/fastapi"]["get"]["parameters"]
