"""The layering of the design card, checked on the source: arrows point one way,
`api → gnn → (kg, encoders)`, and `kg` and `encoders` import nothing else of ours."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
OURS = ("kg", "encoders", "gnn", "api")
ALLOWED = {
    "kg": {"kg"},
    "encoders": {"encoders"},
    "gnn": {"gnn", "kg", "encoders"},
    "api": set(OURS),
}


def imported_subpackages(path: Path) -> set[str]:
    """The `tailgraph.<x>` subpackages a module imports (absolute imports: the project uses
    no relative ones, and this test would miss them, so it refuses them)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: relative import"
            names = [node.module or ""]
            if node.module == "tailgraph":
                names = [f"tailgraph.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] in OURS:
                raise AssertionError(f"{path}: imports {name!r}; use tailgraph.{name}")
            if parts[0] == "tailgraph" and len(parts) > 1 and parts[1] in OURS:
                found.add(parts[1])
    return found


@pytest.mark.parametrize("package", OURS)
def test_package_imports_only_what_the_layering_allows(package: str) -> None:
    files = sorted((REPO_ROOT / package).rglob("*.py"))
    assert files
    wrong = {
        str(f.relative_to(REPO_ROOT)): sorted(used - ALLOWED[package])
        for f in files
        if (used := imported_subpackages(f)) - ALLOWED[package]
    }
    assert wrong == {}


def test_checker_sees_a_forbidden_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("from tailgraph.api.cli import app\nimport tailgraph.gnn.train\n")
    assert imported_subpackages(module) == {"api", "gnn"}
    module.write_text("from gnn.train import fit\n")
    with pytest.raises(AssertionError, match=r"use tailgraph\.gnn\.train"):
        imported_subpackages(module)


def test_the_package_root_is_a_leaf() -> None:
    """`tailgraph/` (the atomic-write helper every package shares) imports none of them;
    only the lazy `tailgraph.Tailgraph` attribute reaches `api`, on first use."""
    used = {
        f.name: imported_subpackages(f)
        for f in sorted((REPO_ROOT / "tailgraph").glob("*.py"))
        if f.name != "__init__.py"
    }
    assert used and all(not found for found in used.values()), used
    assert imported_subpackages(REPO_ROOT / "tailgraph" / "__init__.py") == {"api"}
