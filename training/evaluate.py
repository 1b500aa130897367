"""Evaluate a classifier on a folder in the shared manifest layout (or HaGRID's layout).

    python -m training.evaluate --data ../shared/data/gestures --split test --kind crop --json out.json

`--kind crop` runs the classifier on hand crops; `--kind frame` runs whole frames through the same
pipeline as the browser (palm detector, hand box, classifier: `export.pipeline`). `--model` takes a
`.pt` checkpoint or an `.onnx` file (same preprocessing); without it, the model the project ships
(for frames: its int8 export, which the browser runs). Prints per-class precision, recall, F1,
macro-F1 and the confusion matrix, and writes the same as JSON (keys `macro_f1`, `per_class`,
`confusion`, `labels`, `n`) and the confusion matrix as a PNG. Other tools call this interface:
keep it stable.
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from PIL import UnidentifiedImageError
from tqdm import tqdm

from training.cache import load_cached
from training.checkpoint import SHIPPED_CHECKPOINT, load_checkpoint
from training.datasets import KINDS, SPLITS, Sample, load_samples
from training.gestures import LABELS
from training.inference import probabilities_from_file
from training.metrics import classification_report, format_report


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, required=True, help="folder in the shared manifest layout or HaGRID's")
    p.add_argument("--split", choices=SPLITS, default="test")
    p.add_argument("--kind", choices=KINDS, default="crop",
                   help="crop: hand crops through the classifier; frame: whole frames through the pipeline")
    p.add_argument("--model", type=Path, help=".pt checkpoint or .onnx file (default: the shipped model)")
    p.add_argument("--palm", type=Path, help="palm detector ONNX for --kind frame (default: the exported one)")
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


def evaluate(data: Path, split: str, kind: str, model: Path | None = None, palm: Path | None = None) -> dict:
    """The report for `model` on `data`'s split and kind, with the model name and unreadable images added."""
    samples = load_samples(data, split, kind)
    if not samples:
        raise SystemExit(f"{data}: no {kind} images in split {split!r}")
    if kind == "frame":
        return _evaluate_frames(samples, model, palm) | {"data": str(data), "split": split, "kind": kind}
    model = model or SHIPPED_CHECKPOINT
    cached = load_cached(samples, desc=f"decoding {split}")
    probabilities, model_name = probabilities_from_file(model, cached.images)
    report = classification_report(cached.labels, probabilities.argmax(1))
    report.update(model=model_name, model_file=model.name, data=str(data), split=split, kind=kind,
                  skipped=cached.skipped)
    return report


def _evaluate_frames(samples: list[Sample], model: Path | None, palm: Path | None) -> dict:
    """Whole frames through the browser's pipeline; a `.pt` classifier is exported to float32 ONNX first."""
    from export.classifier_onnx import export_fp32, metadata
    from export.pipeline import GesturePipeline
    from export.predict import read_rgb
    from export.to_onnx import CLASSIFIER_INT8, MODELS_DIR, PALM_DETECTOR

    model = model or MODELS_DIR / CLASSIFIER_INT8
    with tempfile.TemporaryDirectory() as folder:
        classifier = model
        if model.suffix != ".onnx":
            _, meta = load_checkpoint(model)
            classifier = export_fp32(model, Path(folder) / "classifier.onnx",
                                     metadata(meta, None, "evaluation", "float32"))
        pipeline = GesturePipeline(palm or MODELS_DIR / PALM_DETECTOR, classifier)
        truth, predicted, skipped = [], [], []
        for sample in tqdm(samples, desc="frames", unit="frame", leave=False):
            try:
                image = read_rgb(sample.path)
            except (OSError, UnidentifiedImageError, ValueError):
                skipped.append(str(sample.path))
                continue
            truth.append(LABELS.index(sample.label))
            predicted.append(LABELS.index(pipeline(image).label))
    report = classification_report(np.asarray(truth, dtype=np.int64), np.asarray(predicted, dtype=np.int64))
    report.update(model=model.stem, model_file=model.name, palm_model=(palm or MODELS_DIR / PALM_DETECTOR).name,
                  skipped=skipped)
    return report


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    args = parse_args(argv)
    report = evaluate(args.data, args.split, args.kind, args.model, args.palm)
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
