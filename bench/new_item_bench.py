"""Latency of embedding one item added after training (`TailgraphModel.embed_new_items`).

Builds the product model's two variants (KG propagation on, and off) on a prepared
dataset (`bench/quality.py --prepare DIR`: snapshot + text embeddings, no graph server),
then times `embed_new_items` for one new item whose text is a training item's text and
whose KG links are that item's links, `--repeats` times each. Weights are as initialised:
the work done does not depend on their values. Reported: median and p95 milliseconds
with and without KG propagation and their ratio, measured in the same run. Last line: JSON.

    python bench/new_item_bench.py --prepared .bench/prepared --dataset lastfm_hetrec_kg --threads 1
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch
from quality import load_prepared  # bench/ runs as scripts: the sibling module
from tailgraph.gnn.data import build_train_data
from tailgraph.gnn.models.tailgraph import TailgraphConfig, TailgraphModel
from tailgraph.gnn.split import split_interactions


def links_of(model: TailgraphModel, item: int) -> list[tuple[int, int]]:
    """(node, forward relation) pairs of `item`'s outgoing KG edges in training."""
    data = model.data
    forward = data.num_relations // 2
    src, dst = data.kg_edge_index
    mine = (src == item) & (data.kg_edge_type < forward)
    return list(zip(dst[mine].tolist(), data.kg_edge_type[mine].tolist(), strict=True))


def time_one(model: TailgraphModel, item: int, repeats: int) -> list[float]:
    text = model.item_text[item : item + 1].clone()
    links = [links_of(model, item)]
    model.embed_new_items(text, links)  # warm-up: caches of the trained graph
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        model.embed_new_items(text, links)
        seconds.append(time.perf_counter() - started)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--prepared", type=Path, default=Path(".bench/prepared"))
    parser.add_argument("--dataset", default="lastfm_hetrec_kg")
    parser.add_argument("--text", default="full")
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    snapshot, features = load_prepared(args.prepared / args.dataset)
    split = split_interactions(snapshot.interactions, snapshot.num_items, 0, 0.1,
                               cold_valid_fraction=0.1)  # fmt: skip
    text = features(args.text)
    data = build_train_data(snapshot, split, text.items, text.entities)
    report: dict[str, object] = {"bench": "new_item", "dataset": args.dataset,
                                 "threads": args.threads, "repeats": args.repeats}  # fmt: skip
    # the warm item with the most KG links: the heaviest new item of the catalogue's kind
    degree = torch.bincount(data.kg_edge_index[0], minlength=data.num_items)[: data.num_items]
    item = int(torch.argmax(degree * (data.item_count > 0)))
    medians = {}
    for label, use_kg in (("with_kg", True), ("without_kg", False)):
        model = TailgraphModel(data, TailgraphConfig(use_kg=use_kg)).eval()
        model.refresh()
        ms = sorted(1000 * s for s in time_one(model, item, args.repeats))
        medians[label] = statistics.median(ms)
        report[label] = {"median_ms": round(medians[label], 2),
                         "p95_ms": round(ms[int(0.95 * (len(ms) - 1))], 2),
                         "links": len(links_of(model, item)) if use_kg else 0}  # fmt: skip
        print(f"{label:<11} median {medians[label]:7.2f} ms  p95 {report[label]['p95_ms']:7.2f} ms")
    report["ratio_with_vs_without"] = round(medians["with_kg"] / medians["without_kg"], 2)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
