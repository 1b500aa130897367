"""Macro-F1 of one or more classifiers under every webcam condition of `training.perturbations`, as a Markdown
table (thumbs up F1, the weakest class, in brackets); every model sees the same seeded pixels, and `--kind frame`
runs whole frames through the browser's pipeline (minutes per condition and model on 2 cores).

    python -m training.robustness --split test --kind crop \
        --models training/weights/classifier.pt runs/slim-webcam/best.pt --json robustness-crops.json
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from runtime.paths import data_dir, landmark_model, palm_model
from runtime.pipeline import GesturePipeline
from training.cache import load_cached
from training.datasets import KINDS, SPLITS, load_samples
from training.evaluate import evaluate_crops, evaluate_frames, load_classifier
from training.metrics import score_cell, with_gestures_chosen
from training.perturbations import PERTURBATIONS

CLEAN = "clean"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", type=Path, nargs="+", required=True, help=".pt checkpoints or .onnx files")
    p.add_argument("--data", type=Path, default=data_dir())
    p.add_argument("--split", choices=SPLITS, default="val")
    p.add_argument("--kind", choices=KINDS, default="crop")
    p.add_argument("--conditions", nargs="+", choices=[CLEAN, *PERTURBATIONS], default=[CLEAN, *PERTURBATIONS])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--network-only", action="store_true",
                   help="exports without the runtime's toning down of over-exposed crops (runtime.exposure)")
    p.add_argument("--decision", choices=("argmax", "pipeline"), default="argmax",
                   help="crops: the most probable label, or the pipeline's answer (a gesture only at the "
                        "classifier's min_gesture_score)")
    p.add_argument("--json", type=Path, help="write {model path: {condition: report}} here")
    return p.parse_args(argv)


def robustness(models: list[Path], data: Path, split: str, kind: str, conditions: list[str],
               seed: int = 0, network_only: bool = False, as_pipeline: bool = False) -> dict[str, dict[str, dict]]:
    """{model path: {condition: classification report}} on `data`'s split and kind (paths, since two
    checkpoints of one architecture share its name). `as_pipeline`: crops labelled as the pipeline decides."""
    results: dict[str, dict[str, dict]] = {}
    for path in models:
        classifier, _ = load_classifier(path, network_only)
        labels = tuple(classifier.labels)  # the truth in the model's own label set
        samples = load_samples(data, split, kind, labels)
        if not samples:
            raise SystemExit(f"{data}: no {kind} images in split {split!r}")
        cached = load_cached(samples, desc=f"decoding {split}", labels=labels) if kind == "crop" else None
        name = str(path)
        pipeline = GesturePipeline(palm_model(), landmark_model(), classifier) if kind == "frame" else None
        results[name] = {}
        for condition in conditions:
            perturbation = None if condition == CLEAN else condition
            report = (evaluate_crops(cached, classifier, perturbation, seed, as_pipeline) if cached is not None
                      else with_gestures_chosen(evaluate_frames(samples, pipeline, perturbation, seed),
                                                pipeline.gestures))
            results[name][condition] = report
            logging.info("%s, %s: macro-F1 %.4f", name, condition, report["macro_f1"])
    return results


def markdown_table(results: dict[str, dict[str, dict]]) -> str:
    """One row per condition, one column per model: macro-F1 (thumbs up F1)."""
    names = list(results)
    conditions = list(next(iter(results.values())))
    lines = ["| condition | what it does | " + " | ".join(names) + " |", "|---|---|" + "---|" * len(names)]
    for condition in conditions:
        what = PERTURBATIONS[condition].description if condition in PERTURBATIONS else "as recorded"
        cells = [score_cell(results[n][condition]) for n in names]
        lines.append(f"| {condition} | {what} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def gesture_table(name: str, reports: dict[str, dict]) -> str:
    """One row per condition, one column per gesture of the model: its F1 (a model with more gestures than the
    headline's thumbs up)."""
    gestures = [label for label in next(iter(reports.values()))["per_class"] if label != "none"]
    lines = [f"| {name} | " + " | ".join(gestures) + " |", "|---|" + "---|" * len(gestures)]
    lines += [f"| {condition} | " + " | ".join(f"{report['per_class'][g]['f1']:.3f}" for g in gestures) + " |"
              for condition, report in reports.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    args = parse_args(argv)
    results = robustness(args.models, args.data, args.split, args.kind, args.conditions, args.seed,
                         args.network_only, args.decision == "pipeline")
    decided = ", labelled as the pipeline decides" if args.decision == "pipeline" and args.kind == "crop" else ""
    print(f"{args.split} {args.kind}s of {args.data}, seed {args.seed}{decided}: macro-F1 (thumbs up F1)")
    print(markdown_table(results))
    for name, reports in results.items():
        print(f"\nF1 per gesture, {name}:\n{gesture_table('condition', reports)}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
