"""Hostile input, by hand and generated: never a 5xx, never an unbounded answer or label set.

The hand-made cases pin what each defence is for: text with NUL or an unpaired surrogate
is refused with a 422 naming the field (the graph client truncates at NUL; a lone
surrogate cannot be encoded as UTF-8), the 422 echoes only a bounded prefix of the input,
a body over the size limit is refused with 413 before it is parsed, an unknown HTTP method
becomes the one `other` metric label, and a path too long for the file system is a 4xx.
The generated test then throws at every route a mix of these: made-up methods, hostile ids
in paths, bodies that mutate a valid one with hostile values (NUL, surrogates, huge
strings, deep nesting, NaN), raw bytes that are not JSON or not UTF-8, odd headers.
"""

from __future__ import annotations

import json
import re
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tailgraph.api.service import ServiceSettings, create_app
from tailgraph.encoders import TextEncoder
from tailgraph.kg.settings import GraphSettings

from tests.api.conftest import ClientFactory, import_sample

LOOPBACK = ("127.0.0.1", 50000)
SMALL_LIMIT = 64 * 1024  # the generated test's body limit: oversized cases stay cheap
ERROR_BODY_MAX = 16 * 1024  # an error answer, whatever was sent, stays below this


def _error_shape(response: Any) -> None:
    assert response.status_code < 500, response.text[:500]
    if response.status_code >= 400 and response.content:
        body = response.json()
        assert isinstance(body["detail"], list) and body["detail"], body
        for entry in body["detail"]:
            assert {"loc", "msg", "type"} <= set(entry), entry
        assert len(response.content) < ERROR_BODY_MAX, len(response.content)


ITEM = {
    "id": "b95555",
    "title": "Tides",
    "links": [{"relation": "HAS_GENRE", "target": "genre:horror"}],
}
TEXT_FIELDS = [
    ("/items", {**ITEM, "title": "a\x00b"}, ["body", "title"]),
    ("/items", {**ITEM, "description": "x\x00"}, ["body", "description"]),
    ("/items", {**ITEM, "attributes": {"language": "en\x00"}}, ["body", "attributes", "language"]),
    ("/items", {**ITEM, "id": "b\x00"}, ["body", "id"]),
    ("/users/u00001/interactions", {"item_id": "b00001", "kind": "r\x00"}, ["body", "kind"]),
    (
        "/users/u00001/interactions",
        {"item_id": "b00001", "context": {"device": "\x00"}},
        ["body", "context", "device"],
    ),
    ("/recommendations", {"query": "ghost\x00story"}, ["body", "query"]),
]


@pytest.mark.parametrize(("path", "body", "loc"), TEXT_FIELDS, ids=[str(c[2]) for c in TEXT_FIELDS])
def test_nul_in_a_text_field_is_422_naming_the_field(
    writer: TestClient, path: str, body: dict[str, Any], loc: list[str]
) -> None:
    response = writer.post(path, json=body)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"][: len(loc)] == loc
    assert "NUL" in response.json()["detail"][0]["msg"]


SURROGATES = [
    ("/items", b'{"id": "b95556", "title": "\\ud800"}', ["body", "title"]),
    (
        "/items",
        b'{"id": "b95556", "title": "t", "description": "a\\udfffb"}',
        ["body", "description"],
    ),
    ("/items", b'{"id": "\\ud800", "title": "t"}', ["body", "id"]),
    (
        "/users/u00001/interactions",
        b'{"item_id": "b00001", "context": {"device": "\\ud800"}}',
        ["body", "context", "device"],
    ),
    ("/users/u00001/interactions", b'{"item_id": "b00001", "kind": "\\udbff"}', ["body", "kind"]),
    ("/recommendations", b'{"query": "\\ud800"}', ["body", "query"]),
    ("/recommendations", b'{"item_ids": ["\\ud800"]}', ["body", "item_ids", 0]),
    ("/admin/reload", b'{"run_dir": "\\ud800"}', ["body", "run_dir"]),
]


@pytest.mark.parametrize(("path", "raw", "loc"), SURROGATES, ids=[str(c[2]) for c in SURROGATES])
def test_a_lone_surrogate_is_422_naming_the_field_in_valid_json(
    make_client: ClientFactory, writable_graph: GraphSettings, path: str, raw: bytes, loc: list[str]
) -> None:
    client = make_client(writable_graph, raise_server_exceptions=False)
    response = client.post(path, content=raw, headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text
    body = json.loads(response.content.decode("utf-8"))  # strict UTF-8: no surrogate inside
    assert body["detail"][0]["loc"][: len(loc)] == loc


def test_a_paired_surrogate_escape_is_a_real_character(writer: TestClient) -> None:
    raw = b'{"id": "b95557", "title": "Smile \\ud83d\\ude00", "links": []}'
    response = writer.post("/items", content=raw, headers={"content-type": "application/json"})
    assert response.status_code == 201, response.text
    assert response.json()["title"] == "Smile \U0001f600"


def test_a_422_echoes_only_a_bounded_prefix_of_the_input(client: TestClient) -> None:
    huge = "x" * 200_000
    cases = [
        ("/recommendations", {"query": huge}),
        ("/recommendations", {"item_ids": ["b00001"] * 50_000}),
        ("/items", {"id": "b1", "title": huge}),
        ("/recommendations", {"surprise": {"deep": [huge] * 3}}),
    ]
    for path, body in cases:
        response = client.post(path, json=body)
        assert response.status_code == 422, response.text[:300]
        assert len(response.content) < 4096, (path, len(response.content))


def test_a_body_over_the_limit_is_413_before_it_is_parsed(client: TestClient) -> None:
    # Not even JSON: a parser would say 422; the limit answers first.
    big = b"{" * (2 * 1024 * 1024)
    response = client.post(
        "/recommendations", content=big, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413, response.text[:300]
    assert response.json()["detail"][0]["loc"] == ["body"]
    # Just under the default 1 MiB limit: parsed and refused as the invalid JSON it is.
    under = client.post(
        "/recommendations",
        content=b"{" * (1024 * 1024 - 1),
        headers={"content-type": "application/json"},
    )
    assert under.status_code == 422


def test_the_body_limit_is_configurable(
    make_client: ClientFactory, api_graph: GraphSettings
) -> None:
    small = make_client(api_graph, max_body_bytes=1000)
    body = {"query": "ghost " * 300}  # ~1.8 kB
    assert small.post("/recommendations", json=body).status_code == 413
    assert small.post("/recommendations", json={"query": "ghost"}).status_code == 200


def test_made_up_methods_share_one_metric_label(client: TestClient) -> None:
    for k in range(300):
        client.request(f"BREW{k}", "/users/u00001/recommendations")
        client.request(f"X{k}", f"/nowhere/{k}")
    text = client.get("/metrics").text
    methods = set(re.findall(r'method="([^"]*)"', text))
    assert methods <= {"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "other"}
    assert "other" in methods
    routes = set(re.findall(r'route="([^"]*)"', text))
    assert not any("nowhere" in route for route in routes)
    assert len(text) < 100_000


def test_deep_nesting_is_a_4xx(client: TestClient) -> None:
    for depth in (1_000, 100_000):
        raw = b'{"query": ' + b"[" * depth + b"]" * depth + b"}"
        response = client.post(
            "/recommendations", content=raw, headers={"content-type": "application/json"}
        )
        _error_shape(response)
        assert 400 <= response.status_code < 500


@pytest.mark.parametrize("length", [255, 256, 5000])
def test_a_run_dir_too_long_for_the_file_system_is_4xx(
    make_client: ClientFactory, api_graph: GraphSettings, length: int
) -> None:
    client = make_client(api_graph, raise_server_exceptions=False)
    for run_dir in ("r" * length, "/" + "r" * length, "/".join(["r" * 200] * (length // 200 + 1))):
        response = client.post("/admin/reload", json={"run_dir": run_dir})
        _error_shape(response)
        assert 400 <= response.status_code < 500, response.text


# ---- generated ----------------------------------------------------------------------------------
KNOWN_METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]
ROUTES = [
    "/users/{user}/recommendations",
    "/users/{user}/interactions",
    "/users/{user}/recommendations/{item}/explanation",
    "/recommendations",
    "/items/{item}",
    "/items/{item}/similar",
    "/items",
    "/health",
    "/ready",
    "/metrics",
    "/run",
    "/admin/reload",
    "/{junk}",
]
BASE_BODIES: dict[str, dict[str, Any]] = {
    "/users/{user}/interactions": {"item_id": "b00002", "kind": "read", "context": {"d": "x"}},
    "/recommendations": {"item_ids": ["b00001"], "query": "haunted house", "k": 5},
    "/items": {**ITEM, "description": "d", "attributes": {"year": 2001}},
    "/admin/reload": {"run_dir": "elsewhere"},
}
NASTY_TEXT = [
    "\x00", "a\x00b", "\ud800", "\udfff", "x\ud800y", "\ud83d\ude00", "'", '"', "\\",
    "`]->(x) DETACH DELETE x//", "$rows", "{}", "%00", "\u202e", "\ufeff", "..", "../../etc",
    "/", "", " ", "\n", "é" * 300, "null", "NaN",
]  # fmt: skip
hostile_text = st.one_of(
    st.sampled_from(NASTY_TEXT),
    st.text(max_size=40),
    st.builds(lambda c, n: c * n, st.sampled_from(["a", "\x00", "é", "\ud800", "€"]),
              st.integers(0, 40_000)),
)  # fmt: skip
scalars = st.one_of(
    hostile_text,
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(hostile_text, inner, max_size=4),
    max_leaves=12,
)


def _json(value: Any) -> bytes:
    # ensure_ascii: a lone surrogate travels as its "\udXXX" escape, as a hostile client sends it
    return json.dumps(value, ensure_ascii=True, allow_nan=True).encode()


@st.composite
def bodies(draw: st.DrawFn, route: str) -> bytes | None:
    kind = draw(st.sampled_from(["none", "mutated", "mutated", "value", "raw", "deep", "huge"]))
    if kind == "none":
        return None
    if kind == "mutated":
        body = dict(BASE_BODIES.get(route, {"x": 1}))
        key = draw(st.sampled_from([*body, "extra"]))
        body[key] = draw(values)
        return _json(body)
    if kind == "value":
        return _json(draw(values))
    if kind == "raw":
        return draw(st.sampled_from([
            b"{", b"not json", b"\xff\xfe\x00", b'{"title": "caf\xe9"}', b"NaN", b"[Infinity]",
            b'{"k": 1e999}', b'{"a": 1, "a": 2}', b"\x00" * 100, b'{"query": "\\u0000"}',
        ]))  # fmt: skip
    if kind == "deep":
        depth = draw(st.integers(10, 200_000))
        return b'{"query": ' + b"[" * depth + b"]" * depth + b"}"
    return _json({**BASE_BODIES.get(route, {}), "query": "q" * draw(st.integers(1, 200_000))})


@st.composite
def requests(draw: st.DrawFn) -> dict[str, Any]:
    route = draw(st.sampled_from(ROUTES))
    own = "POST" if route in BASE_BODIES else "GET"
    # Mostly the route's own method (so the input reaches validation and the handlers),
    # else any standard one or a made-up one.
    method = draw(st.sampled_from([own, own, own, own, "other", "made-up"]))
    if method == "other":
        method = draw(st.sampled_from(KNOWN_METHODS))
    elif method == "made-up":
        method = draw(st.from_regex(r"\A[A-Z][A-Z_-]{2,20}\Z", fullmatch=True))
    known = st.sampled_from(["u00001", "u00007", "b00001", "b00052", "genre:horror"])
    ids = st.one_of(known, known, hostile_text)

    # URLs stay within what a client sends (64 kB): ids cut to 2,000 characters, query
    # values to 500.
    def part(value: str, safe: str = "") -> str:
        return quote(value[:2000].encode("utf-8", "surrogatepass"), safe=safe)

    path = route.format(
        user=part(draw(ids)), item=part(draw(ids)), junk=part(draw(hostile_text), "/")
    )
    query = draw(st.dictionaries(st.sampled_from(["k", "entity_id", "entity_type", "tail_boost",
                                                  "exclude_seen", "limit", "x"]),
                                 hostile_text, max_size=3))  # fmt: skip
    headers = {
        "content-type": draw(st.sampled_from(["application/json", "text/plain", "",
                                              "multipart/form-data; boundary=x",
                                              "application/json; charset=latin-1"])),
        "x-request-id": draw(st.sampled_from(["abc", "\x7f" * 3, "ü" * 80, "a" * 500])),
        "x-api-key": draw(st.sampled_from(["", "key", "ü"])),
    }  # fmt: skip
    return {
        "method": method,
        "url": path,
        "params": {
            k: v[:500].encode("utf-8", "surrogatepass").decode("utf-8", "replace")
            for k, v in query.items()
        },
        "headers": {k: v.encode("utf-8") for k, v in headers.items() if v},
        "content": draw(bodies(route)),
    }


HOSTILE_EXAMPLES = 600
STATUSES: Counter[int] = Counter()
SERVER_ERRORS: list[str] = []


@pytest.fixture(scope="module")
def hostile_client(
    server_home: Path,
    run_dir: Path,
    api_encoder: TextEncoder,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[TestClient]:
    graph = GraphSettings(home=server_home, graph_name=f"api_hostile_{uuid.uuid4().hex[:8]}")
    import_sample(graph, tmp_path_factory.mktemp("hostile-journal"))
    service = ServiceSettings(
        run_dir=run_dir, graph=graph, access_log=False, max_body_bytes=SMALL_LIMIT
    )
    app = create_app(service, encoder=api_encoder)
    with TestClient(app, raise_server_exceptions=False, client=LOOPBACK) as client:
        yield client


@pytest.mark.slow
def test_generated_hostile_requests_never_get_a_server_error(hostile_client: TestClient) -> None:
    @given(request=requests())
    @settings(
        max_examples=HOSTILE_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(request: dict[str, Any]) -> None:
        response = hostile_client.request(**request)
        STATUSES[response.status_code] += 1
        if response.status_code >= 500:
            SERVER_ERRORS.append(f"{request['method']} {request['url']} -> {response.text[:200]}")
        if request["method"] != "HEAD":
            _error_shape(response)

    check()
    text = hostile_client.get("/metrics").text
    methods = set(re.findall(r'method="([^"]*)"', text))
    total = sum(STATUSES.values())
    print(
        f"\nhostile cases: {total}; 5xx: {len(SERVER_ERRORS)}; "
        f"by status: {dict(sorted(STATUSES.items()))}"
    )
    assert total >= 500
    assert not SERVER_ERRORS, SERVER_ERRORS[:5]
    assert methods <= {*KNOWN_METHODS, "other"}, methods
