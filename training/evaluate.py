"""Evaluate a classifier on a folder in the shared manifest layout (or HaGRID's layout).

    python -m training.evaluate --data ../shared/data/gestures --split test --kind crop --json out.json

`--model` takes a `.pt` checkpoint or an `.onnx` file (same preprocessing); without it, the model
the project ships. Prints per-class precision, recall, F1, macro-F1 and the confusion matrix, and
writes the same as JSON (keys `macro_f1`, `per_class`, `confusion`, `labels`, `n`) and the
confusion matrix as a PNG. Other tools call this interface: keep it stable.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from training.cache import load_cached
from training.checkpoint import SHIPPED_CHECKPOINT
from training.datasets import SPLITS, load_samples
from training.inference import probabilities_from_file
from training.metrics import classification_report, format_report


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, required=True, help="folder in the shared manifest layout or HaGRID's")
    p.add_argument("--split", choices=SPLITS, default="test")
    p.add_argument("--kind", choices=["crop"], default="crop", help="crop: hand crops through the classifier")
    p.add_argument("--model", type=Path, default=SHIPPED_CHECKPOINT, help=".pt checkpoint or .onnx file")
    p.add_argument("--json", type=Path, help="write the report here")
    p.add_argument("--png", type=Path, help="confusion matrix image (default: beside --json, else ./confusion.png)")
    return p.parse_args(argv)


def save_confusion_png(report: dict, path: Path, title: str) -> None:
    labels, matrix = report["labels"], report["confusion"]
    fig, ax = plt.subplots(figsize=(5, 4.4), dpi=120)
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels)
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("prediction")
    ax.set_ylabel("truth")
    ax.set_title(title, fontsize=9)
    peak = max(max(row) for row in matrix) or 1
    for i, row in enumerate(matrix):
        for j, count in enumerate(row):
            ax.text(j, i, str(count), ha="center", va="center", color="white" if count > peak / 2 else "black")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def evaluate(data: Path, split: str, kind: str, model: Path) -> dict:
    """The report for `model` on `data`'s split and kind, with the model name and unreadable images added."""
    samples = load_samples(data, split, kind)
    if not samples:
        raise SystemExit(f"{data}: no {kind} images in split {split!r}")
    cached = load_cached(samples, desc=f"decoding {split}")
    probabilities, model_name = probabilities_from_file(model, cached.images)
    report = classification_report(cached.labels, probabilities.argmax(1))
    report.update(model=model_name, model_file=model.name, data=str(data), split=split, kind=kind,
                  skipped=cached.skipped)
    return report


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    args = parse_args(argv)
    report = evaluate(args.data, args.split, args.kind, args.model)
    print(f"{report['model']} on {args.split} {args.kind}s of {args.data} ({report['n']} images"
          + (f", {len(report['skipped'])} unreadable skipped" if report["skipped"] else "") + ")")
    print(format_report(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    png = args.png or (args.json.with_suffix(".png") if args.json else Path("confusion.png"))
    save_confusion_png(report, png, f"{report['model']}: {args.split} {args.kind}s, macro-F1 {report['macro_f1']:.4f}")
    print(f"confusion matrix: {png}")


if __name__ == "__main__":
    main()
