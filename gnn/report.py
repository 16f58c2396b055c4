"""Markdown report with plots for a run's metrics.json (matplotlib, no display needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

COLUMNS = (
    ("overall", "ndcg@20"), ("overall", "recall@20"), ("overall", "hit@20"),
    ("head", "recall@20"), ("mid", "recall@20"), ("tail", "recall@20"), ("cold", "recall@20"),
    ("hybrid", "ndcg@20"),
)  # fmt: skip


def metric_value(metrics: dict[str, Any], group: str, name: str) -> float:
    block = metrics.get(group, {})
    if group == "hybrid":  # a whole evaluation block: its overall figures
        block = block.get("overall", {})
    value = block.get(name)
    return float("nan") if value is None else float(value)


def comparison_table(models: dict[str, dict[str, Any]]) -> str:
    """Markdown table, one row per model; the best value of each metric column is bold
    (every row that reaches it, to the shown precision)."""
    header = ["model", *[f"{g} {n}" for g, n in COLUMNS], "coverage@20", "mean pop@20",
              "epochs (best/run)", "train s"]  # fmt: skip
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    shown = {
        name: [f"{metric_value(m, g, n):.4f}" for g, n in COLUMNS] for name, m in models.items()
    }
    best = [
        max((cells[c] for cells in shown.values() if cells[c] != "nan"), key=float, default="")
        for c in range(len(COLUMNS))
    ]
    for name, m in models.items():
        cells = [f"**{v}**" if v == best[c] else v for c, v in enumerate(shown[name])]
        epochs = f"{m['best_epoch']}/{m['epochs_run']}" if m.get("epochs_run") else "–"
        cells += [f"{m.get('coverage@20', float('nan')):.3f}",
                  f"{m.get('mean_popularity@20', float('nan')):.1f}",
                  epochs, f"{m.get('train_seconds', 0):.0f}"]  # fmt: skip
        label = name
        if m.get("equals"):  # a tuned weight collapsed: the row is the simpler model's
            label += f" (= {m['equals']} after tuning: {m.get('tuned')})"
        if m.get("kg_selection"):
            label += " (KG kept)" if m["kg_selection"]["use_kg"] else " (KG dropped on validation)"
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot_buckets(models: dict[str, dict[str, Any]], path: Path) -> None:
    groups = ("head", "mid", "tail", "cold")
    fig, ax = plt.subplots(figsize=(10, 4.5))
    width = 0.8 / max(len(models), 1)
    for k, (name, m) in enumerate(models.items()):
        values = [metric_value(m, g, "recall@20") for g in groups]
        ax.bar([i + k * width for i in range(len(groups))], values, width, label=name)
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(groups))], groups)
    ax.set_ylabel("Recall@20")
    ax.set_title("Recall@20 by item popularity bucket")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_recommended_popularity(models: dict[str, dict[str, Any]], path: Path) -> None:
    fig, ax = plt.subplots(figsize=(10, 4.5))
    names = list(models)
    bottom = [0.0] * len(names)
    for bucket in ("head", "mid", "tail"):
        shares = [models[n].get("recommended_share@20", {}).get(bucket, 0.0) for n in names]
        ax.bar(names, shares, bottom=bottom, label=bucket)
        bottom = [b + s for b, s in zip(bottom, shares, strict=True)]
    ax.set_ylabel("share of top-20 slots")
    ax.set_title("Popularity of recommended items (bucket of each top-20 item)")
    ax.tick_params(axis="x", rotation=45)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_report(run_dir: Path, metrics: dict[str, Any]) -> Path:
    models = metrics["models"]
    plot_buckets(models, run_dir / "recall_by_bucket.png")
    plot_recommended_popularity(models, run_dir / "recommended_popularity.png")
    split = metrics.get("split", {})
    text = f"""# Tailgraph run report — {metrics.get("dataset")}

Seed {metrics.get("seed")}; split: {split}.
Full ranking over all warm items (training items excluded); cold items ranked among
the held-out cold items; hybrid: warm and cold test items ranked together among every
item, as a served list is. Buckets by training interactions: head = top 20 % of items,
tail = bottom 50 %. The best value of each column is bold.

{comparison_table(models)}

![Recall@20 by popularity bucket](recall_by_bucket.png)

![Popularity of recommended items](recommended_popularity.png)
"""
    path = run_dir / "report.md"
    path.write_text(text)
    return path
