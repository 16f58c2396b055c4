"""What the serving-time `tail_boost` λ does to a served run's lists.

For each λ the known users' top-k (seen items excluded, as served) is scored as
`score − λ·log(1 + training interactions)`, exactly as `api.service.scoring.top_k` does,
and the lists are described: mean training interactions of the recommended items, the share
of items without any (cold) and of tail items (the bottom 50 % by interactions). Also printed:
the spread of the scores the penalty competes with (mean per-user standard deviation, and
the mean per-user least-squares slope of score on log(1 + interactions), the λ at which
the penalty cancels the popularity trend of the scores). Last line: JSON.

    python bench/tail_boost_bench.py runs/ml100k --threads 1
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from tailgraph.api.service.scoring import top_k
from tailgraph.api.service.state import load_state

BOOSTS = (0.0, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("run", type=Path)
    parser.add_argument("--k", type=int, default=20)
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    state = load_state(args.run)
    catalogue = state.catalogue
    count = torch.tensor(catalogue.count, dtype=torch.float32)
    warm = count[count > 0].sort().values
    tail_cut = warm[len(warm) // 2] if len(warm) else torch.tensor(0.0)
    users = list(range(min(args.users, len(state.users.ids))))
    vectors = torch.stack([state.user_vector(u) for u in users])
    scores = vectors @ catalogue.z.T
    centred = catalogue.log_count - catalogue.log_count.mean()
    slope = (scores @ centred) / centred.square().sum()
    spread = {"score_std": round(float(scores.std(dim=1).mean()), 4),
              "popularity_slope": round(float(slope.mean()), 4),
              "log_count_max": round(float(catalogue.log_count.max()), 3)}  # fmt: skip
    rows = []
    for boost in BOOSTS:
        lists = top_k(vectors, catalogue.z, catalogue.log_count, args.k, boost,
                      [state.seen(u) for u in users], None)  # fmt: skip
        items = torch.cat([indices for _, indices in lists])
        counts = count[items]
        tail = (counts > 0) & (counts <= tail_cut)
        rows.append({"tail_boost": boost,
                     "mean_interactions": round(float(counts.mean()), 1),
                     "cold_share": round(float((counts == 0).float().mean()), 3),
                     "tail_share": round(float(tail.float().mean()), 3)})  # fmt: skip
    print(f"run {args.run}: {len(users)} users, k={args.k}, {spread}")
    print(f"{'tail_boost':>10} {'mean inter.':>12} {'cold':>6} {'tail':>6}")
    for row in rows:
        print(f"{row['tail_boost']:>10} {row['mean_interactions']:>12} {row['cold_share']:>6} "
              f"{row['tail_share']:>6}")  # fmt: skip
    print(json.dumps({"run": str(args.run), "users": len(users), "k": args.k, **spread,
                      "rows": rows}))  # fmt: skip


if __name__ == "__main__":
    main()
