"""Device and precision choice for inference.

``auto`` picks CUDA, then Apple MPS, then CPU. Precision ``auto`` is float16 on CUDA (tensor
cores, half the memory traffic; for encoder-only models such as BERT/MiniLM the cosine
similarities move by ~1e-3) and float32 everywhere else (CPU half precision is slow or
unsupported, and MPS float16 gains little for small encoders). An explicit dtype is honoured
as given.
"""

from __future__ import annotations

import torch

_DTYPES: dict[str, torch.dtype] = {
    "float32": torch.float32,
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
}


def resolve_device(
    requested: str = "auto",
    setting: str = "encoder device",
    kinds: tuple[str, ...] = ("cpu", "cuda", "mps"),
) -> torch.device:
    """The usable torch device for ``auto`` or a device name (``cpu``, ``cuda``, ``cuda:1``,
    ``mps``), among ``kinds``; a ``ValueError`` naming ``setting`` otherwise.

    ``auto`` is CUDA, then Apple MPS (when allowed), then the CPU. The one device resolver:
    the encoders use every kind, training (``gnn.train.training_device``) CPU and CUDA.
    """
    name = requested.strip().lower()
    expected = ", ".join(("auto", *kinds)) + (" or cuda:N" if "cuda" in kinds else "")
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if "mps" in kinds and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ValueError(f"{setting}: expected {expected}; got {requested!r}") from None
    if device.type not in kinds:
        raise ValueError(f"{setting}: expected {expected}; got {requested!r}")
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"{setting}: {requested!r} asked for, but CUDA is not available")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ValueError(
                f"{setting}: {requested!r} asked for, but only "
                f"{torch.cuda.device_count()} CUDA device(s) are present"
            )
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"{setting}: {requested!r} asked for, but MPS is not available")
    return device


def resolve_dtype(requested: str, device: torch.device) -> torch.dtype:
    """Inference dtype for ``device``: ``auto`` is float16 on CUDA and float32 elsewhere."""
    if requested == "auto":
        return torch.float16 if device.type == "cuda" else torch.float32
    try:
        return _DTYPES[requested]
    except KeyError:
        raise ValueError(
            f"encoder dtype must be one of auto, {', '.join(_DTYPES)}; got {requested!r}"
        ) from None


def dtype_name(dtype: torch.dtype) -> str:
    """``torch.float16`` → ``"float16"`` (stable text for cache keys and reports)."""
    return str(dtype).removeprefix("torch.")
