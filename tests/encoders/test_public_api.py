"""The package's public API and its import boundary (encoders imports nothing of ours).

Run in a fresh interpreter, so that no other module of ours is already imported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, sys
import tailgraph.encoders as encoders
from tailgraph.encoders import (CachedEncoder, EmbeddingCache, EncoderSettings, EncodeResult,
    EncodeStats, TextEncoder, TEMPLATE_VERSION, encode_with_cache, entity_text, item_text,
    item_title_text, query_text)
missing = [name for name in encoders.__all__ if not hasattr(encoders, name)]
# tailgraph.atomic: the package root's leaf helper every package shares (imports nothing)
ours = sorted({".".join(m.split(".")[:2]) for m in sys.modules
               if m.startswith("tailgraph.")
               and not m.startswith(("tailgraph.encoders", "tailgraph.atomic"))})
print(json.dumps({"missing": missing, "ours": ours, "file": encoders.__file__}))
"""


def test_public_api_imports_and_touches_no_other_package() -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["missing"] == []
    assert report["ours"] == []
    assert Path(report["file"]).parent == REPO_ROOT / "encoders"
