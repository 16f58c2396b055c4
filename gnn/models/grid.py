"""Choosing a trainable model's settings on validation from a small fixed grid (issue 11).

Every peer gets a grid of three settings of its key knobs — as many as the Tailgraph model's
tuned value (`tailgraph.COLD_KG_SCALES`) — documented beside the model and explained in
docs/decisions.md. The harness trains the model once with the first
setting (`gnn.train.fit`, the common budget); `tune_by_retraining` then re-initialises and
re-trains it with each other setting under the same budget, scores each with the harness's
`validate()` (the model's validation criterion, `Recommender.validation_parts`) and keeps
the best one's weights.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence

from tailgraph.gnn.models.base import Recommender
from tailgraph.gnn.train import TrainConfig, fit, seed_everything

Setting = Mapping[str, float]


def tune_by_retraining(
    model: Recommender,
    grid: Sequence[Setting],
    configure: Callable[[Setting], None],
    train: TrainConfig | None,
    validate: Callable[[], float],
) -> dict[str, float]:
    """Best of `grid` on `validate()`; the model is left trained with it.

    `configure(setting)` applies a setting and re-initialises the model's parameters;
    the model is assumed trained with `grid[0]` already. Without `train` (no training
    budget given, as in unit tests) only `grid[0]` is scored.
    """
    best_score = validate()
    best_index, best_state = 0, copy.deepcopy(model.state_dict())
    scores = [best_score]
    for index, setting in enumerate(grid[1:] if train is not None else [], start=1):
        assert train is not None
        seed_everything(train.seed)
        configure(setting)
        fit(model, model.data, train)
        score = validate()
        scores.append(score)
        if score > best_score:
            best_score, best_index, best_state = score, index, copy.deepcopy(model.state_dict())
    configure(grid[best_index])
    model.load_state_dict(best_state)
    model.eval()
    model.refresh()
    chosen = {key: float(value) for key, value in grid[best_index].items()}
    valid = {f"valid_{k}": round(s, 5) for k, s in enumerate(scores)}
    return {**chosen, "setting": float(best_index), **valid}
