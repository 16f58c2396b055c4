"""Operations: health, readiness, metrics, OpenAPI, API key, JSON logs, the 500 catch-all."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from tailgraph.api.service import ServiceSettings, create_app
from tailgraph.api.service.observability import JsonFormatter
from tailgraph.api.service.state import RunLoadError
from tailgraph.kg.settings import GraphSettings

from tests.api.conftest import ClientFactory, runtime_of


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    ready = client.get("/ready")
    assert ready.status_code == 200
    body = ready.json()
    assert body["ready"] and body["graph"] == "up" and body["encoder"] == "loaded"
    assert body["run"]["items"] == 60 and body["run"]["users"] == 40
    run = client.get("/run").json()
    assert run["items"] == 60 and run["users"] == 40 and "HAS_GENRE" in run["relations"]
    assert "genre" in run["entity_types"] and "age_group" in run["user_attributes"]


def test_metrics_histogram_per_route_template(client: TestClient) -> None:
    client.get("/users/u00001/recommendations")
    client.get("/users/u00002/recommendations")
    client.get("/users/nobody/recommendations")
    client.get("/no/such/path")
    text = client.get("/metrics").text
    route = 'route="/users/{user_id}/recommendations"'
    count = next(
        line
        for line in text.splitlines()
        if line.startswith("tailgraph_http_request_duration_seconds_count")
        and route in line
        and 'status="200"' in line
    )
    assert float(count.rsplit(" ", 1)[1]) == 2.0
    assert f'{route},status="404"' in text.replace('method="GET",', "")
    assert 'route="other"' in text
    assert "u00001" not in text  # ids never become label values
    assert "tailgraph_http_request_duration_seconds_bucket" in text


def test_openapi_and_docs_describe_every_endpoint(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    expected = {
        ("get", "/users/{user_id}/recommendations"),
        ("post", "/users/{user_id}/interactions"),
        ("get", "/users/{user_id}/recommendations/{item_id}/explanation"),
        ("post", "/recommendations"),
        ("get", "/items/{item_id}"),
        ("get", "/items/{item_id}/similar"),
        ("post", "/items"),
        ("get", "/health"),
        ("get", "/ready"),
        ("get", "/metrics"),
        ("get", "/run"),
        ("post", "/admin/reload"),
    }
    found = {(method, path) for path, ops in schema["paths"].items() for method in ops}
    assert expected <= found
    recommend = schema["paths"]["/users/{user_id}/recommendations"]["get"]
    assert {"404", "422"} <= set(recommend["responses"])
    k = next(p for p in recommend["parameters"] if p["name"] == "k")
    assert k["schema"]["maximum"] == 200 and k["schema"]["minimum"] == 1
    assert client.get("/docs").status_code == 200


def test_api_key_guards_everything_but_probes(
    make_client: ClientFactory, api_graph: GraphSettings
) -> None:
    client = make_client(api_graph, api_key=SecretStr("s3cret"))
    missing = client.get("/users/u00001/recommendations")
    assert missing.status_code == 401
    assert missing.json()["detail"][0]["loc"] == ["header", "X-API-Key"]
    assert (
        client.get("/users/u00001/recommendations", headers={"X-API-Key": "wrong"}).status_code
        == 401
    )
    ok = client.get("/users/u00001/recommendations", headers={"X-API-Key": "s3cret"})
    assert ok.status_code == 200
    assert client.post("/admin/reload", json={}).status_code == 401
    assert client.post("/recommendations", json={"query": "x"}).status_code == 401
    for probe in ("/health", "/ready", "/metrics"):
        assert client.get(probe).status_code == 200
    schemes = client.get("/openapi.json").json()["components"]["securitySchemes"]
    assert schemes["APIKeyHeader"]["name"] == "X-API-Key"


def test_settings_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TAILGRAPH_API_RUN_DIR", str(tmp_path / "run"))
    monkeypatch.setenv("TAILGRAPH_API_API_KEY", "k")
    monkeypatch.setenv("TAILGRAPH_API_PORT", "9123")
    monkeypatch.setenv("TAILGRAPH_API_WORKERS", "3")
    monkeypatch.setenv("TAILGRAPH_GRAPH_NAME", "from_env")
    settings = ServiceSettings()
    assert settings.run_dir == tmp_path / "run" and settings.port == 9123 and settings.workers == 3
    assert settings.api_key is not None and settings.api_key.get_secret_value() == "k"
    assert settings.graph.graph_name == "from_env"
    monkeypatch.setenv("TAILGRAPH_API_PORT", "port")
    with pytest.raises(ValueError, match="port"):
        ServiceSettings()


def test_access_log_lines_are_json(make_client: ClientFactory, api_graph: GraphSettings) -> None:
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("tailgraph.api.access")
    logger.addHandler(handler)
    try:
        client = make_client(api_graph, access_log=True)
        client.get("/users/u00001/recommendations", headers={"X-Request-ID": "abc123"})
    finally:
        logger.removeHandler(handler)
    line = json.loads(JsonFormatter().format(records[-1]))
    assert line["message"] == "request" and line["level"] == "info"
    assert line["route"] == "/users/{user_id}/recommendations" and line["status"] == 200
    assert line["request_id"] == "abc123" and line["duration_ms"] > 0


def test_a_server_bug_is_a_logged_500_without_internals(
    make_client: ClientFactory, api_graph: GraphSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = make_client(api_graph, raise_server_exceptions=False)
    state = runtime_of(client).state

    def broken(user: int) -> None:
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(state, "user_vector", broken)
    response = client.get("/users/u00001/recommendations")
    assert response.status_code == 500
    assert "secret" not in response.text
    request_id = response.headers["x-request-id"]
    assert request_id in response.json()["detail"][0]["msg"]
    assert "tailgraph_server_errors_total 1.0" in client.get("/metrics").text


def test_a_bad_run_directory_fails_at_start(api_graph: GraphSettings, tmp_path: Path) -> None:
    app = create_app(ServiceSettings(run_dir=tmp_path, graph=api_graph, load_encoder=False))
    with pytest.raises(RunLoadError, match="not a run directory"), TestClient(app):
        pass


def test_docs_pages_load_no_asset_from_another_host(client: TestClient) -> None:
    # Swagger UI and ReDoc come from files the service serves itself: they render offline.
    for page in ("/docs", "/redoc"):
        html = client.get(page)
        assert html.status_code == 200
        hosts = re.findall(
            r"(?:src|href|url)\s*[=:(]\s*['\"]?(?:https?:)?//([^/'\"\s)]+)", html.text
        )
        assert hosts == [], (page, hosts)
        assets = re.findall(r"(?:src|href)=\"(/[^\"]+\.(?:js|css|png))\"", html.text)
        assert assets, page
        for asset in assets:
            response = client.get(asset)
            assert response.status_code == 200 and len(response.content) > 1000, asset
