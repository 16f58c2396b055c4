"""Reloading a run without a restart: full build, atomic swap, live events replayed."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import torch
from fastapi.testclient import TestClient
from tailgraph.api.service.runtime import LAST_ROUND

from tests.api.conftest import runtime_of


def _top(client: TestClient, user: str, k: int = 10) -> list[str]:
    body = client.get(f"/users/{user}/recommendations", params={"k": k}).json()
    return [item["item_id"] for item in body["items"]]


def test_reload_swaps_to_the_new_run(
    writer: TestClient, run_dir: Path, second_run_dir: Path
) -> None:
    runtime = runtime_of(writer)
    old = runtime.state
    before = _top(writer, "u00001")
    response = writer.post("/admin/reload", json={"run_dir": str(second_run_dir)})
    assert response.status_code == 200, response.text
    assert response.json()["run"]["run_dir"] == str(second_run_dir)
    new = runtime.state
    assert new is not old
    # Answers now come from run B's model (a different seed: a different ranking).
    after = writer.get("/users/u00001/recommendations", params={"k": 10}).json()
    assert after["run"] == str(second_run_dir)
    u = new.users.index["u00001"]
    raw = new.model.score(torch.tensor([u]))[0]
    raw[new.seen(u)] = -torch.inf
    assert [i["item_id"] for i in after["items"]] == [
        new.catalogue.ids[i] for i in torch.topk(raw, 10).indices.tolist()
    ]
    assert [i["item_id"] for i in after["items"]] != before
    # The old state object is untouched and still answers for whoever holds it.
    assert old.run_dir == run_dir and old.user_vector(0).shape == new.user_vector(0).shape
    # Default body: reload the run being served.
    again = writer.post("/admin/reload")
    assert again.status_code == 200 and again.json()["run"]["run_dir"] == str(second_run_dir)


def test_requests_during_reloads_all_succeed_on_one_run_or_the_other(
    writer: TestClient, run_dir: Path, second_run_dir: Path
) -> None:
    runs = {str(run_dir), str(second_run_dir)}
    failures: list[str] = []
    stop = threading.Event()

    def hammer() -> None:
        while not stop.is_set():
            response = writer.get("/users/u00002/recommendations", params={"k": 5})
            if response.status_code != 200 or response.json()["run"] not in runs:
                failures.append(response.text)

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for target in (second_run_dir, run_dir, second_run_dir, run_dir):
        assert writer.post("/admin/reload", json={"run_dir": str(target)}).status_code == 200
    stop.set()
    for thread in threads:
        thread.join()
    assert not failures


def test_a_bad_run_is_refused_and_the_old_one_keeps_serving(
    writer: TestClient, tmp_path: Path
) -> None:
    before = _top(writer, "u00003")
    for bad in (str(tmp_path), str(tmp_path / "missing"), "relative/nowhere"):
        response = writer.post("/admin/reload", json={"run_dir": bad})
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["body", "run_dir"]
    assert writer.post("/admin/reload", json={"run_dir": ""}).status_code == 422
    assert writer.post("/admin/reload", json={"run_dir": 3}).status_code == 422
    assert _top(writer, "u00003") == before
    assert 'tailgraph_reloads_total{outcome="refused"} 3.0' in writer.get("/metrics").text


def test_live_interactions_and_items_survive_a_reload(
    writer: TestClient, second_run_dir: Path
) -> None:
    item = {
        "id": "b97777",
        "title": "Night Train to Nowhere",
        "links": [{"relation": "HAS_GENRE", "target": "genre:thriller"}],
    }
    assert writer.post("/items", json=item).status_code == 201
    first = _top(writer, "u00008")[0]
    assert writer.post("/users/u00008/interactions", json={"item_id": first}).status_code == 201
    assert writer.post("/users/u00008/interactions", json={"item_id": "b97777"}).status_code == 201
    report = writer.post("/admin/reload", json={"run_dir": str(second_run_dir)}).json()
    assert report["replayed_items"] == 1 and report["replayed_interactions"] >= 1
    assert writer.get("/items/b97777").json()["added_live"] is True
    state = runtime_of(writer).state
    history = [
        state.catalogue.ids[i]
        for i in state.history(state.users.index["u00008"]).tolist()
        if i >= 0
    ]
    assert history[:2] == ["b97777", first]
    assert not {first, "b97777"} & set(_top(writer, "u00008", k=200))


def test_a_second_reload_while_one_runs_is_409(writer: TestClient) -> None:
    lock = runtime_of(writer)._reload_lock
    lock.acquire()
    try:
        response = writer.post("/admin/reload", json={})
    finally:
        lock.release()
    assert response.status_code == 409
    assert writer.post("/admin/reload", json={}).status_code == 200


def _seen_in(run_dir: Path, user: str) -> list[str]:
    from tailgraph.api.service.state import load_state

    other = load_state(run_dir)
    return [other.catalogue.ids[i] for i in other.seen(other.users.index[user]).tolist()]


def test_writes_go_on_while_a_reload_replays_the_live_log(
    writer: TestClient, second_run_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # More live events than the last round takes, so the reload replays them beside the
    # writes; the replay is held still until a write has been answered.
    runtime = runtime_of(writer)
    state = runtime.state
    for k in range(LAST_ROUND + 8):
        user, item = state.users.ids[k % 10], state.catalogue.ids[k]
        payload = {"item_id": item, "timestamp": 1_000 + k}
        assert writer.post(f"/users/{user}/interactions", json=payload).status_code == 201
    replaying, release = threading.Event(), threading.Event()
    replay = runtime._replay

    def held_replay(new: object, events: list[object]) -> object:
        if not replaying.is_set():
            replaying.set()
            release.wait(20)
        return replay(new, events)

    monkeypatch.setattr(runtime, "_replay", held_replay)
    answer: dict[str, object] = {}
    reload = threading.Thread(
        target=lambda: answer.update(
            response=writer.post("/admin/reload", json={"run_dir": str(second_run_dir)})
        )
    )
    reload.start()
    try:
        assert replaying.wait(60)
        # An item neither run has u00005 interacting with, so the new run must replay it.
        seen = set(state.seen(state.users.index["u00005"]).tolist())
        seen |= {state.catalogue.index[i] for i in _seen_in(second_run_dir, "u00005")}
        target = next(i for k, i in enumerate(state.catalogue.ids) if k not in seen)
        during = writer.post("/users/u00005/interactions", json={"item_id": target})
        assert during.status_code == 201
        assert reload.is_alive(), "the write waited for the whole reload"
    finally:
        release.set()
        reload.join(60)
    response = answer["response"]
    assert response.status_code == 200, response.text  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert body["replayed_interactions"] >= LAST_ROUND
    new = runtime.state
    assert new.run_dir == second_run_dir
    # The write answered during the reload is in the new state too.
    history = [new.catalogue.ids[i] for i in new.history(new.users.index["u00005"]) if i >= 0]
    assert history[0] == target
