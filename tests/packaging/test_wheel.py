"""A regular (non-editable) install works: the wheel carries every subpackage and the
Cypher files under `tailgraph.`, and imports from a fresh virtual environment."""

from __future__ import annotations

import json
import site
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, pkgutil, tailgraph
from tailgraph.kg import cypher_files
from tailgraph.api.cli import app
from tailgraph.gnn.models.tailgraph import TailgraphModel
modules = sorted(m.name for m in pkgutil.walk_packages(tailgraph.__path__, "tailgraph."))
statements = sorted(p.name for p in cypher_files.CYPHER_DIR.glob("*.cypher"))
print(json.dumps({"file": tailgraph.__file__, "modules": modules, "statements": statements}))
"""


@pytest.mark.slow
def test_wheel_installs_and_imports_in_a_fresh_venv(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(wheels), str(REPO_ROOT)],
        check=True, capture_output=True, timeout=600,
    )  # fmt: skip
    (wheel,) = wheels.glob("tailgraph-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "tailgraph/kg/store.py" in names and "tailgraph/cypher/schema.cypher" in names
    assert not [n for n in names if n.startswith(("kg/", "gnn/", "api/", "encoders/", "tests/"))]

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    # The dependencies come from this environment (nothing to download); tailgraph itself
    # only from the wheel. The .pth line goes after the venv's own site-packages.
    venv_site = Path(
        subprocess.run([str(python), "-c", "import site; print(site.getsitepackages()[0])"],
                       check=True, capture_output=True, text=True).stdout.strip()
    )  # fmt: skip
    (venv_site / "zz_dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    result = subprocess.run(
        [str(python), "-c", PROBE], cwd=tmp_path, check=True, capture_output=True, text=True,
        timeout=300, env={"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert Path(report["file"]).parent == venv_site / "tailgraph"
    expected = {
        "tailgraph." + ".".join(p.relative_to(REPO_ROOT).with_suffix("").parts)
        for folder in ("kg", "encoders", "gnn", "api")
        for p in (REPO_ROOT / folder).rglob("*.py")
    }
    expected = {m.removesuffix(".__init__") for m in expected}
    assert expected <= set(report["modules"])
    assert set(report["statements"]) == {p.name for p in (REPO_ROOT / "cypher").glob("*.cypher")}
