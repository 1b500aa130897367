"""The plan's ensemble: crop classifiers averaged, their weights chosen on a grid by validation macro-F1 (ties lean
on the first member, the shipped model), then each member and the ensemble on whole frames in one pipeline pass;
`training.evaluate --model A B --weights ...` reproduces any cell.

    python -m research.ensemble --models export/models/classifier.int8.onnx \
        runs/attention_hgr-30/classifier.int8.onnx --frames held-out --out runs/ensemble
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import logging
from pathlib import Path

import numpy as np
from PIL import UnidentifiedImageError
from tqdm import tqdm

from runtime.ensemble import EnsembleClassifier, combine
from runtime.images import read_rgb
from runtime.paths import data_dir, landmark_model, palm_model
from runtime.pipeline import Classifier, GesturePipeline
from training.cache import load_cached
from training.datasets import load_samples
from training.evaluate import load_classifier
from training.gestures import LABELS
from training.metrics import classification_report, score_cell
from training.pipeline_crops import frame_halves

log = logging.getLogger("research.ensemble")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", type=Path, nargs="+", required=True,
                   help=".pt checkpoints or .onnx files, the shipped one first (its thresholds are the ensemble's)")
    p.add_argument("--data", type=Path, default=data_dir())
    p.add_argument("--step", type=float, default=0.05, help="grid step of the weights tried on the validation crops")
    p.add_argument("--frames", choices=("held-out", "test"),
                   help="also whole frames: the held-out training frames (to choose on), or the test frames")
    p.add_argument("--crops", choices=("test",), help="also the test crops")
    p.add_argument("--out", type=Path, default=Path("runs/ensemble"))
    return p.parse_args(argv)


def weight_grid(members: int, step: float) -> list[tuple[float, ...]]:
    """Every weighting of `members` on a grid of `step` that sums to 1, the first member's weight falling."""
    ticks = round(1 / step)
    if members == 1:
        return [(1.0,)]
    grid = [(*parts, ticks - sum(parts)) for parts in itertools.product(range(ticks, -1, -1), repeat=members - 1)
            if sum(parts) <= ticks]
    return [tuple(round(part / ticks, 6) for part in weights) for weights in grid]


def choose_weights(probabilities: list[np.ndarray], labels: np.ndarray, step: float
                   ) -> tuple[tuple[float, ...], dict[str, float]]:
    """The grid's best weights by macro-F1 on `labels`, and every weighting's macro-F1 (keys '0.60,0.40')."""
    scores = {weights: classification_report(labels, combine(probabilities, weights).argmax(1))["macro_f1"]
              for weights in weight_grid(len(probabilities), step)}
    best = max(scores, key=scores.get)  # max keeps the first of equals: the most weight on the first member
    return best, {",".join(f"{w:.2f}" for w in weights): score for weights, score in scores.items()}


def crop_reports(names: list[str], probabilities: list[np.ndarray], weights: list[float] | np.ndarray,
                 labels: np.ndarray) -> dict[str, dict]:
    """Each member's and the ensemble's report from the members' probabilities on the same crops."""
    reports = {name: classification_report(labels, p.argmax(1)) for name, p in zip(names, probabilities, strict=True)}
    reports["ensemble"] = classification_report(labels, combine(probabilities, weights).argmax(1))
    return reports


class RecordingEnsemble(EnsembleClassifier):
    """An ensemble that keeps its members' probabilities of the last call, so that one pipeline pass scores every
    member and the ensemble on the same hands."""

    def __init__(self, members: list[Classifier], weights: list[float]) -> None:
        super().__init__(members, weights)
        self.last: list[np.ndarray] = []

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        self.last = self.member_probabilities(images)
        return combine(self.last, self.weights)


def frame_reports(names: list[str], ensemble: EnsembleClassifier, data: Path, frames: str) -> dict[str, dict]:
    """Each member's and the ensemble's report on whole frames, from one pass of the browser's pipeline with the
    ensemble (palm detector and landmark model once per frame): the hands it finds are re-decided with each
    member's probabilities. Members see the hand as the ensemble cuts it (at the largest input size)."""
    samples = (load_samples(data, "test", "frame") if frames == "test"
               else frame_halves(load_samples(data, "train", "frame"))[1])
    recording = RecordingEnsemble(ensemble.members, ensemble.weights.tolist())
    pipeline = GesturePipeline(palm_model(), landmark_model(), recording)
    truth, decided, skipped = [], {name: [] for name in [*names, "ensemble"]}, []
    for sample in tqdm(samples, desc=f"{frames} frames", unit="frame", leave=False):
        try:
            image = read_rgb(sample.path)
        except (OSError, UnidentifiedImageError, ValueError):
            skipped.append(str(sample.path))
            continue
        hands = pipeline.hands(image)  # found hands come from the last classifier call: `recording.last`
        if hands and len(recording.last[0]) != len(hands):
            raise RuntimeError("the pipeline's hands are not the ensemble's last call: score each member apart")
        truth.append(LABELS.index(sample.label))
        for i, name in enumerate(names):
            rescored = [dataclasses.replace(hand, probabilities=dict(zip(LABELS, map(float, recording.last[i][j]),
                                                                          strict=True)))
                        for j, hand in enumerate(hands)]
            decided[name].append(LABELS.index(pipeline.decide(rescored).label))
        decided["ensemble"].append(LABELS.index(pipeline.decide(hands).label))
    if skipped:
        log.warning("skipped %d unreadable frame(s), e.g. %s", len(skipped), skipped[0])
    reports = {name: classification_report(np.asarray(truth, np.int64), np.asarray(d, np.int64)) | {"skipped": skipped}
               for name, d in decided.items()}
    for name, report in reports.items():
        log.info("%s frames, %s: macro-F1 %.4f", frames, name, report["macro_f1"])
    return reports


def markdown_table(results: dict) -> str:
    """Macro-F1 (thumbs up F1) of each member and the ensemble on each set measured."""
    sets = [key for key in results if key.startswith(("crops", "frames"))]
    names = list(results[sets[0]])
    lines = [f"weights {results['weights']} (chosen on the validation crops)", "",
             "| | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for key in sets:
        cells = [score_cell(results[key][n]) for n in names]
        lines.append(f"| {key.replace('_', ' ')} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    members = [load_classifier(path)[0] for path in args.models]
    names = [str(path) for path in args.models]
    if len(set(names)) != len(names):
        raise SystemExit(f"--models: each model once, got {names}")
    val = load_cached(load_samples(args.data, "val"), desc="decoding val")
    probabilities = [member.probabilities(val.images) for member in members]
    weights, grid = choose_weights(probabilities, val.labels, args.step)
    ensemble = EnsembleClassifier(members, weights)
    log.info("weights %s: validation macro-F1 %.4f", weights, max(grid.values()))
    results = {"models": names, "weights": list(weights), "validation_grid": grid,
               "crops_val": crop_reports(names, probabilities, weights, val.labels)}
    if args.crops:
        test = load_cached(load_samples(args.data, args.crops), desc=f"decoding {args.crops}")
        results[f"crops_{args.crops}"] = crop_reports(names, ensemble.member_probabilities(test.images),
                                                      ensemble.weights, test.labels)
    if args.frames:
        results[f"frames_{args.frames}"] = frame_reports(names, ensemble, args.data, args.frames)
    (args.out / "ensemble.json").write_text(json.dumps(results, indent=2))
    table = markdown_table(results)
    (args.out / "ensemble.md").write_text(table + "\n")
    print(table)


if __name__ == "__main__":
    main()
