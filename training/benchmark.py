"""Compare trained classifiers as a Markdown table: test macro-F1 and per-class F1, parameters, size, CPU latency
(PyTorch eager, one thread, batch 1, median) and training time (from each run record); `--ensemble W ...` adds a row.

    python -m training.benchmark runs/*/best.pt training/weights/classifier.pt
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from runtime.ensemble import combine
from runtime.paths import data_dir
from training.cache import load_cached
from training.checkpoint import load_checkpoint, run_record
from training.datasets import load_samples
from training.gestures import GESTURES, LABELS
from training.inference import torch_probabilities
from training.metrics import classification_report


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoints", type=Path, nargs="+")
    p.add_argument("--data", type=Path, default=data_dir())
    p.add_argument("--split", default="test")
    p.add_argument("--repeats", type=int, default=200)
    p.add_argument("--ensemble", type=float, nargs="+", metavar="WEIGHT",
                   help="also a row for the ensemble of the checkpoints, one weight each (summing to 1)")
    p.add_argument("--json", type=Path, help="also write the figures here")
    return p.parse_args(argv)


@torch.no_grad()
def latency_ms(model: torch.nn.Module, size: int, repeats: int) -> float:
    """Median wall time of one forward pass at batch 1 on one thread."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    x = torch.randn(1, 3, size, size).contiguous(memory_format=torch.channels_last)
    model = model.to(memory_format=torch.channels_last)
    for _ in range(20):
        model(x)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        model(x)
        times.append((time.perf_counter() - start) * 1000)
    torch.set_num_threads(threads)
    return statistics.median(times)


def measure(checkpoint: Path, images: np.ndarray, labels: np.ndarray, repeats: int) -> tuple[dict, np.ndarray]:
    """The checkpoint's row, and its probabilities on the crops (for an ensemble row): on the four labels, a model's
    other gestures counted as `none` (the shipped classifier's added ones)."""
    model, meta = load_checkpoint(checkpoint)
    own = torch_probabilities(model, images, meta["input_size"])
    probabilities = np.stack([own[:, meta["labels"].index(label)] for label in LABELS[:-1]]
                             + [1.0 - sum(own[:, meta["labels"].index(label)] for label in LABELS[:-1])], axis=1)
    report = classification_report(labels, probabilities.argmax(1))
    record = run_record(checkpoint)
    name = meta["model"] + (" (distilled)" if meta.get("distilled_from") else "")
    return {"checkpoint": str(checkpoint), "name": name, "macro_f1": report["macro_f1"],
            "f1": {k: v["f1"] for k, v in report["per_class"].items()},
            "parameters": sum(p.numel() for p in model.parameters()),
            "size_mb": checkpoint.stat().st_size / 1e6, "input_size": meta["input_size"],
            "latency_ms": latency_ms(model, meta["input_size"], repeats),
            "train_minutes": record["wall_seconds"] / 60 if record else None}, probabilities


def ensemble_row(rows: list[dict], probabilities: list[np.ndarray], weights: list[float], labels: np.ndarray) -> dict:
    """The members' probabilities averaged with `weights`; parameters, size, latency and training time summed (the
    browser would run every member on every hand)."""
    report = classification_report(labels, combine(probabilities, weights).argmax(1))
    trained = [r["train_minutes"] for r in rows]
    return {"checkpoint": "+".join(r["checkpoint"] for r in rows),
            "name": "ensemble: " + " + ".join(f"{w:g} x {r['name']}" for w, r in zip(weights, rows, strict=True)),
            "weights": weights, "macro_f1": report["macro_f1"],
            "f1": {k: v["f1"] for k, v in report["per_class"].items()},
            "parameters": sum(r["parameters"] for r in rows), "size_mb": sum(r["size_mb"] for r in rows),
            "input_size": " + ".join(str(r["input_size"]) for r in rows),
            "latency_ms": sum(r["latency_ms"] for r in rows),
            "train_minutes": None if None in trained else sum(trained)}


def markdown(rows: list[dict]) -> str:
    header = ("| model | input | test macro-F1 | " + " | ".join(f"F1 {g}" for g in (*GESTURES, "none"))
              + " | parameters | latency (ms) | training (min) |")
    lines = [header, "|" + "---|" * (header.count("|") - 1)]
    for r in rows:
        train = f"{r['train_minutes']:.0f}" if r["train_minutes"] is not None else "?"
        lines.append(f"| {r['name']} | {r['input_size']} | {r['macro_f1']:.4f} | "
                     + " | ".join(f"{r['f1'][k]:.4f}" for k in (*GESTURES, "none"))
                     + f" | {r['parameters'] / 1e6:.2f} M | {r['latency_ms']:.1f} | {train} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    cached = load_cached(load_samples(args.data, args.split), desc=f"decoding {args.split}")
    if args.ensemble and (len(args.ensemble) != len(args.checkpoints) or abs(sum(args.ensemble) - 1) > 1e-6):
        raise SystemExit(f"--ensemble: one weight per checkpoint, summing to 1 (got {args.ensemble})")
    rows, probabilities = map(list, zip(*(measure(c, cached.images, cached.labels, args.repeats)
                                          for c in args.checkpoints), strict=True))
    if args.ensemble:
        rows.append(ensemble_row(rows, probabilities, args.ensemble, cached.labels))
    print(f"{len(cached)} {args.split} crops from {args.data}; latency: PyTorch, 1 thread, batch 1, median")
    print(markdown(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
