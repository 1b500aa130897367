"""Evaluate a classifier (`.pt`, `.onnx`, or several as an ensemble) on hand crops or on whole frames through the
browser's pipeline, optionally degraded as a webcam would; prints and writes per-class scores, macro-F1 and the
confusion matrix. Other tools call this interface: keep it stable.

    python -m training.evaluate --data ../shared/data/gestures --split test --kind crop --json out.json
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from PIL import UnidentifiedImageError
from tqdm import tqdm

from runtime.classifier import OnnxClassifier
from runtime.ensemble import EnsembleClassifier
from runtime.images import read_rgb
from runtime.paths import SHIPPED_CHECKPOINT, classifier_model, data_dir, landmark_model, palm_model
from runtime.pipeline import Classifier, GesturePipeline, chosen_gestures, gesture_decisions
from training.cache import CachedImages, load_cached
from training.datasets import KINDS, SPLITS, Sample, load_samples
from training.gestures import label_set_error
from training.metrics import classification_report, format_report, with_gestures_chosen
from training.perturbations import PERTURBATIONS, frame_hand_side, perturb, perturb_crops
from training.pipeline_crops import frame_halves


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=data_dir(), help="folder in the shared manifest layout or HaGRID's")
    p.add_argument("--split", choices=SPLITS, default="test")
    p.add_argument("--kind", choices=KINDS, default="crop",
                   help="crop: hand crops through the classifier; frame: whole frames through the pipeline")
    p.add_argument("--model", type=Path, nargs="+",
                   help=".pt checkpoint or .onnx file (default: the shipped model); several: an ensemble")
    p.add_argument("--weights", type=float, nargs="+", help="the ensemble's weights, one per --model (default: equal)")
    p.add_argument("--palm", type=Path, help="palm detector ONNX for --kind frame (default: the exported one)")
    p.add_argument("--perturb", choices=sorted(PERTURBATIONS), help="degrade every image first (seeded)")
    p.add_argument("--seed", type=int, default=0, help="seed of --perturb's random parts (noise, blur direction)")
    p.add_argument("--held-out", action="store_true",
                   help="with --split train --kind frame: only the frames no classifier trained on (the held-out half "
                        "of training.pipeline_crops.frame_halves in the shipped label set)")
    p.add_argument("--gestures", nargs="+", help="score as a host that chose these gestures sees it (the widget's "
                   "`gestures` option; frames default to the classifier's default gestures, as the widget's): every "
                   "other gesture counts as none")
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


def load_classifier(path: Path, network_only: bool = False) -> tuple[Classifier, str]:
    """The classifier in `path` and its name; PyTorch is loaded only for a `.pt` checkpoint (always the network
    alone; `network_only` leaves an export's over-exposed crops as they are, as before `runtime.exposure`). Its
    labels are any label set of `training.gestures`."""
    if path.suffix == ".onnx":
        classifier = OnnxClassifier(path, network_only=network_only)
        if error := label_set_error(list(classifier.labels)):
            raise SystemExit(f"{path}: {error}")
        return classifier, path.stem
    from training.inference import TorchClassifier  # torch stays optional for evaluating exports

    classifier = TorchClassifier(path)
    return classifier, classifier.name


def load_ensemble(paths: Sequence[Path], weights: Sequence[float] | None = None) -> tuple[Classifier, str]:
    """One classifier for one path, else the ensemble of `paths` averaged with `weights` (default: equal); and its
    name (members joined with '+')."""
    if len(paths) == 1 and not weights:
        return load_classifier(paths[0])
    weights = list(weights or [1 / len(paths)] * len(paths))
    if len(weights) != len(paths):
        raise SystemExit(f"--weights: {len(weights)} given for {len(paths)} models")
    members, names = zip(*(load_classifier(path) for path in paths), strict=True)
    try:
        return EnsembleClassifier(members, weights), "+".join(names)
    except ValueError as error:
        raise SystemExit(str(error)) from error


def evaluate(data: Path, split: str, kind: str, model: Path | Sequence[Path] | None = None, palm: Path | None = None,
             perturbation: str | None = None, seed: int = 0, weights: Sequence[float] | None = None,
             gestures: Sequence[str] | None = None, held_out: bool = False) -> dict:
    """The report for `model` (several: their ensemble with `weights`) on `data`'s split and kind (each image under
    `perturbation` if given), per class of the model's own label set (the truth mapped to it as training maps it),
    with the model name and unreadable images added; scored as a host that chose `gestures` sees it (frames: by
    default the classifier's default gestures, as the widget's): frames are decided among them only, and
    `metrics.with_gestures_chosen` folds the rest into none; `held_out`: only the training frames no classifier
    trained on."""
    paths = [Path(m) for m in ([model] if isinstance(model, str | Path) else model or [])] or [
        classifier_model() if kind == "frame" else SHIPPED_CHECKPOINT]
    classifier, model_name = load_ensemble(paths, weights)
    if kind == "frame" and gestures is None:  # the widget's default: the classifier's default gestures
        gestures = classifier.default_gestures
    try:  # the truth as the host's choice labels it: a source showing only gestures not chosen is `none`
        truth = (*chosen_gestures(tuple(classifier.labels), gestures), "none") if gestures else classifier.labels
    except ValueError as error:
        raise SystemExit(f"--gestures: {error}") from error
    samples = load_samples(data, split, kind, tuple(truth))
    if held_out:
        if (split, kind) != ("train", "frame"):
            raise SystemExit("--held-out: training frames only (--split train --kind frame)")
        kept = {sample.path for sample in frame_halves(load_samples(data, split, kind))[1]}
        samples = [sample for sample in samples if sample.path in kept]
    if not samples:
        raise SystemExit(f"{data}: no {kind} images in split {split!r}")
    if kind == "frame":
        pipeline = GesturePipeline(palm or palm_model(), landmark_model(), classifier, gestures=gestures)
        report = evaluate_frames(samples, pipeline, perturbation, seed)
        report["palm_model"] = Path(palm or palm_model()).name
    else:
        cached = load_cached(samples, desc=f"decoding {split}", labels=tuple(classifier.labels))
        report = evaluate_crops(cached, classifier, perturbation, seed)
    if gestures:
        try:
            report = with_gestures_chosen(report, gestures)
        except ValueError as error:
            raise SystemExit(f"--gestures: {error}") from error
    report.update(model=model_name, model_file="+".join(path.name for path in paths), data=str(data), split=split,
                  kind=kind, perturbation=perturbation, seed=seed, held_out=held_out,
                  gestures=list(gestures) if gestures else None)
    if isinstance(classifier, EnsembleClassifier):
        report["weights"] = classifier.weights.tolist()
    return report


def evaluate_crops(cached: CachedImages, classifier: Classifier, perturbation: str | None = None,
                   seed: int = 0, as_pipeline: bool = False) -> dict:
    """Cached hand crops (labelled in the classifier's label set) through the classifier; a perturbation treats the
    whole crop as the hand. Each crop's label is the network's most probable one, or with `as_pipeline` what the
    pipeline answers for a frame with that hand (a gesture only at the classifier's `min_gesture_score`:
    `runtime.pipeline.gesture_decisions`, among the classifier's default gestures)."""
    images = cached.images if perturbation is None else perturb_crops(cached.images, perturbation, seed)
    predicted = crop_labels(classifier.probabilities(images), classifier, as_pipeline)
    report = classification_report(cached.labels, predicted, tuple(classifier.labels))
    if as_pipeline:  # the pipeline decides among the default gestures: the others are its none
        report = with_gestures_chosen(report, classifier.default_gestures)
    report["skipped"] = cached.skipped
    return report


def crop_labels(probabilities: np.ndarray, classifier: Classifier, as_pipeline: bool = False) -> np.ndarray:
    """Each crop's label index: the most probable, or with `as_pipeline` the pipeline's answer for that one hand."""
    if as_pipeline:
        return gesture_decisions(probabilities, tuple(classifier.labels), classifier.settings.min_gesture_score,
                                 classifier.default_gestures)
    return probabilities.argmax(1)


def evaluate_frames(samples: list[Sample], pipeline: GesturePipeline, perturbation: str | None = None,
                    seed: int = 0) -> dict:
    """Whole frames (labelled in the classifier's label set) through the browser's pipeline; unreadable frames are
    skipped and listed."""
    labels = tuple(pipeline.classifier.labels)
    truth, predicted, skipped = [], [], []
    for index, sample in enumerate(tqdm(samples, desc="frames", unit="frame", leave=False)):
        try:
            image = read_rgb(sample.path)
        except (OSError, UnidentifiedImageError, ValueError):
            skipped.append(str(sample.path))
            continue
        if perturbation is not None:
            image = perturb(image, perturbation, frame_hand_side(image), seed, index)
        truth.append(labels.index(sample.label))
        predicted.append(labels.index(pipeline(image).label))
    report = classification_report(np.asarray(truth, dtype=np.int64), np.asarray(predicted, dtype=np.int64), labels)
    report["skipped"] = skipped
    return report


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    args = parse_args(argv)
    report = evaluate(args.data, args.split, args.kind, args.model, args.palm, args.perturb, args.seed, args.weights,
                      args.gestures, args.held_out)
    condition = f", each {args.perturb} (seed {args.seed})" if args.perturb else ""
    which = f"{'held-out ' if args.held_out else ''}{args.split} {args.kind}s"
    print(f"{report['model']} on {which} of {args.data} ({report['n']} images{condition}"
          + (f", {len(report['skipped'])} unreadable skipped" if report["skipped"] else "") + ")")
    print(format_report(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    png = args.png or (args.json.with_suffix(".png") if args.json else Path("confusion.png"))
    save_confusion_png(report, png, f"{report['model']}: {args.split} {args.kind}s, macro-F1 {report['macro_f1']:.4f}")
    print(f"confusion matrix: {png}")


if __name__ == "__main__":
    main()
