"""The fast path answers exactly as the recommend route does, and only where it should.

Every valid known-user request the other API tests send already goes through it; here the
same generated requests go to an app with it and to one without (`fast_recommend=False`),
and the two answers — status, headers, body — must be equal.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tailgraph.api.service.fast_path import ROUTE_PATH, FastRecommendations
from tailgraph.api.service.routers import users

from tests.api.conftest import runtime_of

USERS = st.sampled_from(["u00001", "u00010", "u00042", "nobody", "u\x01x", "x" * 300, "a b"])
OPTION_VALUES = {
    "k": st.sampled_from(["1", "5", "20", "200", "0", "201", "x", ""]),
    "exclude_seen": st.sampled_from(["true", "false", "0", "maybe"]),
    "entity_id": st.sampled_from(["genre:horror", "genre:nope", ""]),
    "entity_type": st.sampled_from(["genre", "author", "planet", ""]),
    "tail_boost": st.sampled_from(["0", "0.3", "10", "11", "-1", "nan"]),
    "extra": st.text(max_size=4),
}
QUERIES = st.lists(
    st.sampled_from(sorted(OPTION_VALUES)).flatmap(
        lambda name: st.tuples(st.just(name), OPTION_VALUES[name])
    ),
    max_size=4,
)
VARIANTS = st.sampled_from(["GET", "HEAD", "GET trailing slash"])


@pytest.fixture
def pair(make_client: Any, api_graph: Any) -> tuple[TestClient, TestClient]:
    return make_client(api_graph), make_client(api_graph, fast_recommend=False)


def answer(client: TestClient, variant: str, user: str, query: list[tuple[str, str]]) -> Any:
    path = f"/users/{quote(user, safe='')}/recommendations"
    if variant.endswith("trailing slash"):
        path += "/"
    response = client.request(variant.split()[0], f"{path}?{urlencode(query)}",
                              follow_redirects=False)  # fmt: skip
    headers = {k: v for k, v in response.headers.items() if k != "x-request-id"}
    return response.status_code, headers, response.content


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(VARIANTS, USERS, QUERIES)
def test_same_answer_with_and_without_the_fast_path(
    pair: tuple[TestClient, TestClient], variant: str, user: str, query: list[tuple[str, str]]
) -> None:
    fast, routed = pair
    assert answer(fast, variant, user, query) == answer(routed, variant, user, query)


def test_it_answers_valid_requests_itself_and_hands_on_the_rest(client: TestClient) -> None:
    route = next(r for r in users.router.routes if isinstance(r, APIRoute) and r.path == ROUTE_PATH)
    handed_on: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        handed_on.append(scope["path"] + "?" + scope["query_string"].decode())
        await send({"type": "http.response.start", "status": 599, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    middleware = FastRecommendations(app, runtime_of(client), None, route)
    direct = TestClient(middleware)
    ok = direct.get("/users/u00001/recommendations", params={"k": 3})
    assert ok.status_code == 200 and len(ok.json()["items"]) == 3 and handed_on == []
    for path in ("/users/nobody/recommendations", "/users/u00001/recommendations?k=0",
                 "/users/u00001/recommendations?entity_id=genre:nope", "/health"):  # fmt: skip
        assert direct.get(path).status_code == 599
    assert len(handed_on) == 4
    assert direct.head("/users/u00001/recommendations").status_code == 599


def test_metrics_label_the_route_template(client: TestClient) -> None:
    assert client.get("/users/u00001/recommendations").status_code == 200
    metrics = client.get("/metrics").text
    assert 'route="/users/{user_id}/recommendations"' in metrics


def test_api_key_is_checked_the_same_way(make_client: Any, api_graph: Any) -> None:
    fast = make_client(api_graph, api_key="s3cret")
    routed = make_client(api_graph, api_key="s3cret", fast_recommend=False)
    for headers in ({}, {"X-API-Key": "wrong"}, {"X-API-Key": ""}, {"X-API-Key": "s3cret"}):
        a = fast.get("/users/u00001/recommendations", headers=headers)
        b = routed.get("/users/u00001/recommendations", headers=headers)
        assert (a.status_code, a.content) == (b.status_code, b.content)
    assert fast.get("/users/u00001/recommendations", headers={"X-API-Key": "s3cret"}).is_success
    assert fast.get("/users/u00001/recommendations").status_code == 401
