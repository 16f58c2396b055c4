"""The command line's answers to a user's mistakes: one `error:` line, before any work."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tailgraph.kg.importer import graph_counts
from tailgraph.kg.store import GraphStore

from tests.conftest import REPO_ROOT, SHARED_DATA

ML100K = SHARED_DATA / "ml100k_kg"


def tailgraph(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tailgraph.api.cli", *args],
        capture_output=True, text=True, env={**os.environ, **env}, check=False,
    )  # fmt: skip


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


@pytest.mark.parametrize("uri", ["bolt://127.0.0.1:1", "neo4j://127.0.0.1:1"])
def test_a_neo4j_that_refuses_the_connection_is_one_line(uri: str, tmp_path: Path) -> None:
    # The routing scheme's driver also logged "Unable to retrieve routing information".
    env = {"TAILGRAPH_GRAPH_URI": uri, "TAILGRAPH_HOME": str(tmp_path)}
    for args in (("db", "status"), ("cypher", "most_popular_items", "-p", "limit=3")):
        line = one_error_line(tailgraph(env, *args))
        assert f"Neo4j at {uri} unreachable" in line


def test_db_status_checks_the_configured_graph(store: GraphStore, cli_env: dict[str, str]) -> None:
    store.run("CREATE (:Item {id: 'i1', title: 'One'})")
    result = tailgraph(cli_env, "db", "status", "--json")
    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    assert status["running"] is True
    if store.backend == "neo4j":  # was refused: "`tailgraph db` manages the embedded server"
        assert status["backend"] == "neo4j" and status["uri"] == cli_env["TAILGRAPH_GRAPH_URI"]
        assert status["counts"] == graph_counts(store)
    text = tailgraph(cli_env, "db", "status")
    assert text.returncode == 0, text.stderr
    assert ("reachable" if store.backend == "neo4j" else "running: True") in text.stdout


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["-o", "descripton=x"],
         "error: recbole option 'descripton': unknown; expected one of descriptions, "
         "entity_prefix, field_sep, seq_sep, dbpedia_links, dbpedia_kg"),
        (["-o", "descriptions"], "error: --option: expected key=value, found 'descriptions'"),
    ],
)  # fmt: skip
def test_import_option_mistakes_are_one_line(
    args: list[str], expected: str, tmp_path: Path
) -> None:
    env = {"TAILGRAPH_HOME": str(tmp_path), "TAILGRAPH_GRAPH_URI": "embedded"}
    result = tailgraph(env, "import", str(ML100K), "--format", "recbole", *args)
    assert one_error_line(result) == expected
    assert not (tmp_path / "data").exists()  # nothing started, nothing written


def test_lastfm_option_of_the_wrong_type_is_one_line(tmp_path: Path) -> None:
    env = {"TAILGRAPH_HOME": str(tmp_path), "TAILGRAPH_GRAPH_URI": "embedded"}
    lastfm = SHARED_DATA / "lastfm_hetrec_kg"
    result = tailgraph(env, "import", str(lastfm), "--format", "lastfm-hetrec",
                       "-o", "descriptions=maybe")  # fmt: skip
    line = one_error_line(result)
    assert line.startswith("error: lastfm-hetrec option 'descriptions': Input should be a valid")
    assert "found 'maybe'" in line


def test_a_recbole_folder_without_format_gets_a_hint(tmp_path: Path) -> None:
    env = {"TAILGRAPH_HOME": str(tmp_path), "TAILGRAPH_GRAPH_URI": "embedded"}
    line = one_error_line(tailgraph(env, "import", str(ML100K)))
    assert "RecBole atomic files (ml-100k.inter, ml-100k.item, ml-100k.kg)" in line
    assert line.endswith("use --format recbole; nothing was written")


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ("seed=abc", "error: seed: Input should be a valid integer, unable to parse string as "
                     "an integer (got 'abc')"),
        ("sed=1", "error: sed: unknown setting"),
        ("train.epochs", "error: --set: expected key=value, found 'train.epochs'"),
        ("train.epochs=-1", "error: train.epochs: Input should be greater than or equal to 1 "
                            "(got -1)"),
    ],
)  # fmt: skip
def test_train_setting_mistakes_are_one_line(setting: str, expected: str, tmp_path: Path) -> None:
    env = {"TAILGRAPH_HOME": str(tmp_path), "TAILGRAPH_GRAPH_URI": "embedded"}
    result = tailgraph(env, "train", "--out", str(tmp_path / "run"), "--set", setting)
    assert one_error_line(result) == expected
    assert not (tmp_path / "data").exists()  # checked before the graph is opened


def test_data_folder_is_ignored_by_git() -> None:
    # The walk-through writes `data/sample`; it must not show up as files to commit.
    lines = (REPO_ROOT / ".gitignore").read_text().splitlines()
    assert "data/" in lines or "/data/" in lines


def test_a_bad_config_file_is_one_line(tmp_path: Path) -> None:
    env = {"TAILGRAPH_HOME": str(tmp_path), "TAILGRAPH_GRAPH_URI": "embedded"}
    config = tmp_path / "settings.json"
    config.write_text('{"seed": 1,\n "train.epochs": }\n')
    line = one_error_line(tailgraph(env, "train", "--out", "r", "--config", str(config)))
    assert line == f"error: {config}, line 2: expected JSON settings, found Expecting value"
    config.write_text("[1, 2]")
    line = one_error_line(tailgraph(env, "train", "--out", "r", "--config", str(config)))
    assert line == f"error: {config}: expected a JSON object of settings, found list"
