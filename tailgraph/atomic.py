"""Atomic writes — readers see the old file or directory or the new one, never half of one.

The one implementation for every package: `kg` and `encoders` may import nothing else of
the project (the layering), so it lives here, at the package root, and imports nothing of
ours either.

- `atomic_write_bytes` / `atomic_write_text`: a temp file in the same directory, fsync,
  then `os.replace` (atomic on POSIX and Windows when both share a filesystem, which the
  same directory guarantees);
- `atomic_dir`: build a directory in a temporary sibling, then `publish_dir` renames it
  into place (removed again if building fails, so nothing partial is left).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

TEMP_PREFIX = ".tmp-"
"""Temporary files start with this; readers skip them and cleanup may remove stale ones."""


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` via a temp file in the same directory, fsync, then os.replace."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=path.suffix, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode())


def publish_dir(tmp: Path, out_dir: Path) -> None:
    """Move a fully written `tmp` directory to `out_dir`, replacing any previous one.

    Each `os.replace` is atomic; a reader sees the old directory or the new one, never
    a half-written one (between the two renames `out_dir` is briefly absent).
    """
    if out_dir.exists():
        old = out_dir.with_name(f".{out_dir.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(out_dir, old)
        os.replace(tmp, out_dir)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, out_dir)


@contextmanager
def atomic_dir(out_dir: Path) -> Iterator[Path]:
    """`with atomic_dir(out) as tmp:` write into `tmp`; on success it becomes `out`."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-", dir=out_dir.parent))
    try:
        yield tmp
        publish_dir(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
