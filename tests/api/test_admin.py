"""Defaults that trust no one: /admin only for loopback clients unless an API key is set,
reloads only from the runs folder, and an open /ready that tells no internals."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from pydantic import SecretStr
from tailgraph.kg.settings import GraphSettings

from tests.api.conftest import ClientFactory

REMOTE = ("203.0.113.9", 40000)


@pytest.mark.parametrize("peer", [REMOTE, ("testclient", 50000), ("::ffff:10.0.0.1", 1)])
def test_without_a_key_admin_refuses_clients_that_are_not_loopback(
    make_client: ClientFactory, api_graph: GraphSettings, run_dir: Path, peer: tuple[str, int]
) -> None:
    client = make_client(api_graph, peer=peer)
    for body in ({}, {"run_dir": str(run_dir)}, {"run_dir": "/etc"}):
        response = client.post("/admin/reload", json=body)
        assert response.status_code == 403, response.text
        assert response.json()["detail"][0]["loc"] == ["client"]
        assert "/etc" not in response.text
    # The rest of the API stays open without a key, as documented.
    assert client.get("/users/u00001/recommendations").status_code == 200


@pytest.mark.parametrize("peer", [("127.0.0.1", 1), ("::1", 1), ("127.8.9.10", 1)])
def test_without_a_key_loopback_clients_may_reload(
    make_client: ClientFactory, api_graph: GraphSettings, peer: tuple[str, int]
) -> None:
    assert make_client(api_graph, peer=peer).post("/admin/reload").status_code == 200


def test_with_a_key_admin_needs_it_from_anywhere(
    make_client: ClientFactory, api_graph: GraphSettings
) -> None:
    client = make_client(api_graph, peer=REMOTE, api_key=SecretStr("s3cret"))
    assert client.post("/admin/reload").status_code == 401
    assert client.post("/admin/reload", headers={"X-API-Key": "s3cret"}).status_code == 200


def test_reload_loads_only_from_the_runs_folder(
    make_client: ClientFactory, api_graph: GraphSettings, run_dir: Path, tmp_path: Path
) -> None:
    # A complete run outside the runs folder, and a symlink inside it pointing there.
    outside = tmp_path / "elsewhere" / "run-x"
    shutil.copytree(run_dir, outside)
    runs = tmp_path / "runs"
    shutil.copytree(run_dir, runs / "run-a")
    (runs / "sneaky").symlink_to(outside)
    client = make_client(api_graph, run_dir=runs / "run-a")
    for target in (str(outside), "../elsewhere/run-x", "sneaky", "/etc", str(runs), "."):
        response = client.post("/admin/reload", json={"run_dir": target})
        assert response.status_code == 422, (target, response.text)
        assert response.json()["detail"][0]["loc"] == ["body", "run_dir"]
        assert "config.json" not in response.text  # no listing of what is (not) there
    for target in ("run-a", str(runs / "run-a")):
        response = client.post("/admin/reload", json={"run_dir": target})
        assert response.status_code == 200, response.text
    # Configured explicitly: the folder named, not the run's parent.
    other = make_client(api_graph, run_dir=runs / "run-a", runs_dir=tmp_path / "elsewhere")
    assert other.post("/admin/reload", json={"run_dir": "run-x"}).status_code == 200
    assert other.post("/admin/reload", json={"run_dir": str(runs / "run-a")}).status_code == 422


def test_ready_tells_no_internals_and_run_has_them_behind_the_key(
    make_client: ClientFactory, api_graph: GraphSettings, run_dir: Path
) -> None:
    client = make_client(api_graph, peer=REMOTE, api_key=SecretStr("s3cret"))
    ready = client.get("/ready")
    assert ready.status_code == 200
    text = ready.text
    assert str(run_dir) not in text and run_dir.name not in text
    assert "18-24" not in text and "age_group" not in text  # attribute names and values
    body = ready.json()
    assert body["ready"] and body["graph"] == "up" and body["run"]["items"] == 60
    assert client.get("/run").status_code == 401
    run = client.get("/run", headers={"X-API-Key": "s3cret"}).json()
    assert run["run_dir"] == str(run_dir) and "18-24" in run["user_attributes"]["age_group"]
