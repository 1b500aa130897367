"""Landmark geometry beside the crop CNN: a small MLP on the 21 landmarks, late-fused with the CNN at a weight chosen
on the validation crops, then CNN alone, landmarks alone and fused on the test crops (clean and perturbed) and,
with `--frames`, on whole frames through the browser's pipeline.

    python -m research.fusion --cnn training/weights/classifier.pt --out runs/landmark-fusion --frames held-out
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import UnidentifiedImageError
from torch import nn
from tqdm import tqdm

from research.landmark_features import FEATURES, features, mirrored
from runtime.images import read_rgb
from runtime.paths import data_dir, landmark_model, palm_model
from runtime.pipeline import Classifier, GesturePipeline, Hand
from training.cache import CachedImages, load_cached
from training.crop_landmarks import MIN_PRESENCE, landmarks_of_crops
from training.datasets import Sample, load_samples
from training.evaluate import load_classifier
from training.gestures import LABELS
from training.metrics import classification_report, score_cell
from training.perturbations import PERTURBATIONS, perturb_crops
from training.pipeline_crops import frame_halves

WEIGHTS = np.round(np.arange(0.0, 1.0001, 0.05), 2)
"""The fusion weights tried on the validation crops."""

NONE = LABELS.index("none")

log = logging.getLogger("research.fusion")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cnn", type=Path, required=True, help="the crop classifier (.pt or .onnx)")
    p.add_argument("--data", type=Path, default=data_dir())
    p.add_argument("--out", type=Path, default=Path("runs/landmark-fusion"))
    p.add_argument("--conditions", nargs="*", choices=sorted(PERTURBATIONS), default=sorted(PERTURBATIONS),
                   help="perturbations of the test crops to report (default: all)")
    p.add_argument("--frames", choices=("held-out", "test"),
                   help="also whole frames: the held-out training frames (to choose on), or the test frames")
    p.add_argument("--epochs", type=int, default=150)
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


def landmark_mlp() -> nn.Module:
    """63 -> 128 -> 64 -> 4: about 17 k parameters, microseconds a hand."""
    return nn.Sequential(nn.Linear(FEATURES, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(),
                         nn.Linear(64, len(LABELS)))


def train_mlp(rows: np.ndarray, labels: np.ndarray, epochs: int, seed: int) -> nn.Module:
    """Full-batch AdamW on the rows and their mirror images, each class weighted by the inverse of its count."""
    torch.manual_seed(seed)
    x = torch.from_numpy(np.concatenate([rows, mirrored(rows)]))
    y = torch.from_numpy(np.concatenate([labels, labels]))
    weights = torch.from_numpy(len(labels) / (len(LABELS) * np.bincount(labels, minlength=len(LABELS)))).float()
    model = landmark_mlp()
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-3)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, epochs)
    for _ in range(epochs):
        for batch in torch.randperm(len(y)).split(4096):
            loss = F.cross_entropy(model(x[batch]), y[batch], weight=weights, label_smoothing=0.05)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        schedule.step()
    return model.eval()


@torch.no_grad()
def mlp_probabilities(model: nn.Module, points: np.ndarray) -> np.ndarray:
    """[N, 4] probabilities for landmarks [N, 21, 3]."""
    if not len(points):
        return np.zeros((0, len(LABELS)), np.float32)
    rows = np.stack([features(p) for p in points])
    return F.softmax(model(torch.from_numpy(rows)), 1).numpy()


def decisions(cnn: np.ndarray, mlp: np.ndarray, found: np.ndarray, weight: float) -> dict[str, np.ndarray]:
    """Class indices for CNN alone, landmarks alone (none where no hand was found) and fused at `weight`."""
    landmarks = np.where(found, mlp.argmax(1), NONE)
    fused = np.where(found, (weight * cnn + (1 - weight) * mlp).argmax(1), cnn.argmax(1))
    return {"cnn": cnn.argmax(1), "landmarks": landmarks, "fused": fused}


def readable(samples: list[Sample], cached: CachedImages) -> list[Sample]:
    skipped = set(cached.skipped)
    return [s for s in samples if str(s.path) not in skipped]


def crop_scores(classifier: Classifier, mlp: nn.Module, samples: list[Sample], cached: CachedImages,
                perturbation: str | None, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CNN probabilities, MLP probabilities and whether a hand was found, per crop, under `perturbation`."""
    images = cached.images if perturbation is None else perturb_crops(cached.images, perturbation, seed)
    cnn = classifier.probabilities(images)
    marks = landmarks_of_crops(samples, landmark_model(), perturbation, seed, desc=f"landmarks {perturbation}")
    found = marks.presence >= MIN_PRESENCE
    mlp_scores = np.full_like(cnn, 1 / len(LABELS))
    if found.any():
        mlp_scores[found] = mlp_probabilities(mlp, marks.points[found])
    return cnn, mlp_scores, found


def frame_decisions(pipeline: GesturePipeline, mlp: nn.Module, samples: list[Sample], weight: float
                    ) -> tuple[np.ndarray, dict[str, np.ndarray], list[str]]:
    """Truth and each model's decision on whole frames (one pipeline pass, its hands re-scored three ways), and
    the frames that could not be read, skipped."""
    truth, decided, skipped = [], {"cnn": [], "landmarks": [], "fused": []}, []
    for sample in tqdm(samples, desc="frames", unit="frame", leave=False):
        try:
            image = read_rgb(sample.path)
        except (OSError, UnidentifiedImageError, ValueError):
            skipped.append(str(sample.path))
            continue
        hands = pipeline.hands(image)
        extra = mlp_probabilities(mlp, np.stack([hand.landmarks.points for hand in hands])) if hands else []
        truth.append(LABELS.index(sample.label))
        for name in decided:
            rescored = [_rescored(hand, extra[i], name, weight) for i, hand in enumerate(hands)]
            decided[name].append(LABELS.index(pipeline.decide(rescored).label))
    return np.asarray(truth), {name: np.asarray(found) for name, found in decided.items()}, skipped


def _rescored(hand: Hand, mlp: np.ndarray, name: str, weight: float) -> Hand:
    cnn = np.asarray([hand.probabilities[label] for label in LABELS])
    scores = {"cnn": cnn, "landmarks": mlp, "fused": weight * cnn + (1 - weight) * mlp}[name]
    return dataclasses.replace(hand, probabilities=dict(zip(LABELS, map(float, scores), strict=True)))


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    splits = {}
    for split in ("train", "val", "test"):
        samples = load_samples(args.data, split)
        cached = load_cached(samples, desc=f"decoding {split}")
        splits[split] = (readable(samples, cached), cached)
    train_samples, train_cached = splits["train"]
    marks = landmarks_of_crops(train_samples, landmark_model(), desc="landmarks train")
    found = marks.presence >= MIN_PRESENCE
    log.info("training crops with a hand found: %d of %d", found.sum(), len(found))
    mlp = train_mlp(np.stack([features(p) for p in marks.points[found]]), train_cached.labels[found], args.epochs,
                    args.seed)
    torch.save(mlp.state_dict(), args.out / "mlp.pt")

    classifier, _ = load_classifier(args.cnn)
    val_samples, val_cached = splits["val"]
    cnn, probabilities, found = crop_scores(classifier, mlp, val_samples, val_cached, None, args.seed)
    val_f1 = {float(w): classification_report(val_cached.labels, decisions(cnn, probabilities, found, w)["fused"])[
        "macro_f1"] for w in WEIGHTS}
    weight = max(val_f1, key=val_f1.get)
    log.info("fusion weight %.2f on validation (macro-F1 %.4f; CNN alone %.4f)", weight, val_f1[weight], val_f1[1.0])
    results = {"weight": weight, "validation": val_f1, "test_crops": {}}
    test_samples, test_cached = splits["test"]
    for condition in [None, *args.conditions]:
        cnn, probabilities, found = crop_scores(classifier, mlp, test_samples, test_cached, condition, args.seed)
        reports = {name: classification_report(test_cached.labels, decided)
                   for name, decided in decisions(cnn, probabilities, found, weight).items()}
        results["test_crops"][condition or "clean"] = reports | {"hands_found": float(found.mean())}
        log.info("%s: %s", condition or "clean", {k: round(v["macro_f1"], 4) for k, v in reports.items()})
    if args.frames:
        pipeline = GesturePipeline(palm_model(), landmark_model(), classifier)
        frames = (load_samples(args.data, "test", "frame") if args.frames == "test"
                  else frame_halves(load_samples(args.data, "train", "frame"))[1])
        truth, decided, skipped = frame_decisions(pipeline, mlp, frames, weight)
        if skipped:
            log.warning("skipped %d unreadable frame(s), e.g. %s", len(skipped), skipped[0])
        results["frames"], results["skipped_frames"] = args.frames, skipped
        results["frame_reports"] = {name: classification_report(truth, d) for name, d in decided.items()}
    (args.out / "fusion.json").write_text(json.dumps(results, indent=2))
    table = markdown_table(results)
    (args.out / "fusion.md").write_text(table + "\n")
    print(table)


def markdown_table(results: dict) -> str:
    """Test macro-F1 (thumbs up F1) of CNN, landmarks and fused per condition, and on whole frames."""
    lines = [f"fusion weight {results['weight']:.2f} (chosen on validation crops)", "",
             "| test | CNN alone | landmarks alone | fused | hands found |", "|---|---|---|---|---|"]
    for condition, reports in results["test_crops"].items():
        cells = [score_cell(reports[n]) for n in ("cnn", "landmarks", "fused")]
        lines.append(f"| crops, {condition} | " + " | ".join(cells) + f" | {reports['hands_found']:.1%} |")
    if "frames" in results:
        reports = results["frame_reports"]
        cells = [score_cell(reports[n]) for n in ("cnn", "landmarks", "fused")]
        lines.append(f"| whole frames ({results['frames']}) | " + " | ".join(cells) + " | |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
