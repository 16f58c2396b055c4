"""Pooling: from token states ``H ∈ R^{B×T×d}`` and attention mask ``m ∈ {0,1}^{B×T}`` to one
vector per text, as the sentence-transformers ``Pooling`` module defines it.

For text ``b`` with real tokens ``S_b = {t : m_bt = 1}``:

- ``mean``:   ``v_b = Σ_{t∈S_b} H_bt / |S_b|``                     (all-MiniLM-L6-v2, default)
- ``mean_sqrt_len_tokens``: ``v_b = Σ_{t∈S_b} H_bt / sqrt(|S_b|)``
- ``weightedmean``: ``v_b = Σ_t w_t H_bt / Σ_t w_t`` with ``w_t = position of t among real
  tokens, counting from 1`` (later tokens weigh more; SGPT-style decoders)
- ``cls``:    ``v_b = H_{b,first real token}``                       (BGE, GTE)
- ``max``:    ``v_{b,j} = max_{t∈S_b} H_btj``
- ``lasttoken``: ``v_b = H_{b,last real token}``                     (decoder embedders)

Several modes concatenate in the order given (as sentence-transformers does). Pooling runs
in float32 whatever the model's dtype, so half-precision models do not lose accuracy in the
sum. Padding may be on either side; the formulas only look at the mask.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

POOLING_MODES = ("cls", "max", "mean", "mean_sqrt_len_tokens", "weightedmean", "lasttoken")

# sentence-transformers < 5 wrote one boolean per mode; newer versions write "pooling_mode".
_LEGACY_POOLING_KEYS = {
    "pooling_mode_cls_token": "cls",
    "pooling_mode_max_tokens": "max",
    "pooling_mode_mean_tokens": "mean",
    "pooling_mode_mean_sqrt_len_tokens": "mean_sqrt_len_tokens",
    "pooling_mode_weightedmean_tokens": "weightedmean",
    "pooling_mode_lasttoken": "lasttoken",
}


def pooling_modes_from_config(config: dict[str, object]) -> tuple[str, ...]:
    """Pooling modes named by a sentence-transformers ``Pooling/config.json`` (old or new keys).

    A config naming no mode means ``mean``, as in sentence-transformers.
    """
    raw = config.get("pooling_mode")
    if isinstance(raw, str):
        modes: tuple[str, ...] = (raw,)
    elif isinstance(raw, list | tuple):
        modes = tuple(str(mode) for mode in raw)
    else:
        modes = tuple(mode for key, mode in _LEGACY_POOLING_KEYS.items() if config.get(key))
    modes = modes or ("mean",)
    unknown = [mode for mode in modes if mode not in POOLING_MODES]
    if unknown:
        raise ValueError(f"unknown pooling mode(s) {unknown}; expected some of {POOLING_MODES}")
    return modes


def pool(
    token_states: torch.Tensor, attention_mask: torch.Tensor, modes: Sequence[str] = ("mean",)
) -> torch.Tensor:
    """Pool ``token_states`` [B, T, d] under ``attention_mask`` [B, T] into [B, d·len(modes)]."""
    states = token_states.float()
    mask = attention_mask.to(states.device, dtype=torch.float32)
    parts = [_pool_one(states, mask, mode) for mode in modes]
    return parts[0] if len(parts) == 1 else torch.cat(parts, dim=-1)


def _pool_one(states: torch.Tensor, mask: torch.Tensor, mode: str) -> torch.Tensor:
    weights = mask.unsqueeze(-1)  # [B, T, 1]
    if mode in ("mean", "mean_sqrt_len_tokens"):
        total = (states * weights).sum(dim=1)
        count = weights.sum(dim=1).clamp(min=1.0)  # an all-padding row stays finite (zeros)
        return total / (count if mode == "mean" else count.sqrt())
    if mode == "weightedmean":
        positions = mask.cumsum(dim=1) * mask  # 1, 2, … over real tokens, 0 on padding
        position_weights = positions.unsqueeze(-1)
        return (states * position_weights).sum(dim=1) / position_weights.sum(dim=1).clamp(min=1.0)
    if mode == "max":
        return states.masked_fill(weights == 0, float("-inf")).max(dim=1).values
    if mode == "cls":
        first = mask.argmax(dim=1)  # first real token, whichever side the padding is on
        return states[torch.arange(states.shape[0], device=states.device), first]
    if mode == "lasttoken":
        last = mask.shape[1] - 1 - mask.flip(dims=[1]).argmax(dim=1)
        return states[torch.arange(states.shape[0], device=states.device), last]
    raise ValueError(f"unknown pooling mode {mode!r}; expected one of {POOLING_MODES}")
