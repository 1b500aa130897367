"""The pose encoder: a small network that maps a hand's 65 numbers (`runtime.custom_gestures.hand_embedding`) to a
point where other people's hands in the same pose lie near, so that a gesture taught by one person is found on
others. Trained on the landmarks of training and validation crops, one class per HaGRID gesture.

    python -m training.pose_encoder                      # writes training/weights/pose_encoder.json (shipped)
    python -m training.pose_encoder --leave-out peace    # one that never saw a pose (benchmarks.few_shot does this)
"""

from __future__ import annotations

import argparse
import csv
import math
import random
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from runtime.custom_gestures import hand_embedding, mirrored
from runtime.hand_landmarks import EMBEDDING_SIZE
from runtime.paths import POSE_ENCODER, data_dir, landmark_model
from runtime.pose_encoder import PoseEncoder
from runtime.settings import CustomGestureSettings
from training.crop_landmarks import MIN_PRESENCE, landmarks_of_crops
from training.datasets import Sample

HIDDEN, OUTPUT = 128, 32
"""The network's two hidden layers' width and its output's length
(docs/decisions.md#taught-gestures-matched-by-a-learnt-pose-encoder)."""
SCALE = 16.0
"""The cosine classifier's logit scale while training."""
TURN, NOISE = 0.15, 0.02
"""Augmentation: the hand turned by N(0, TURN) radians, each landmark moved by N(0, NOISE) of the hand's extent."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=data_dir())
    p.add_argument("--per-class", type=int, default=1000, help="at most this many crops of each HaGRID gesture")
    p.add_argument("--leave-out", nargs="*", default=[], help="source classes the encoder never sees")
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--views", type=int, default=4, help="augmented views of each crop")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--out", type=Path, default=POSE_ENCODER)
    return p.parse_args(argv)


def encoder_crops(root: Path, per_class: int, seed: int = 0) -> list[Sample]:
    """Training and validation crops, at most `per_class` of each source class (HaGRID's gesture, or the digit),
    each labelled with its source class."""
    by_class: dict[str, list[Sample]] = defaultdict(list)
    with (root / "manifest.csv").open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["kind"] == "crop" and row["split"] in ("train", "val"):
                by_class[row["source_class"]].append(Sample(root / row["path"], row["source_class"], row["group"]))
    rng = random.Random(seed)
    chosen = []
    for name in sorted(by_class):
        samples = by_class[name]
        rng.shuffle(samples)
        chosen += samples[:per_class]
    return chosen


def crop_hands(samples: list[Sample], workers: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """The landmarks [N, 21, 3] of the crops with a hand found, and their source classes [N] (cached); ValueError
    when there is none."""
    if not samples:
        raise ValueError("no training or validation crops to train the pose encoder on (the manifest has no crop rows "
                         "of those splits)")
    found = landmarks_of_crops(samples, landmark_model(), workers=workers, desc="crop landmarks")
    kept = found.presence >= MIN_PRESENCE
    return found.points[kept], np.asarray([s.label for s in samples])[kept]


def augmented(points: np.ndarray, views: int, seed: int) -> np.ndarray:
    """[N, 21, 3] landmarks -> [N * views, 65] embeddings: the first view as found, the others turned and moved a
    little, every other one mirrored (a pose is the same with either hand)."""
    rng = np.random.default_rng(seed)
    settings = CustomGestureSettings()
    rows = []
    for hand in points.astype(np.float64):
        extent = max(float(np.ptp(hand[:, :2], axis=0).max()), 1e-6)
        for view in range(views):
            moved = hand.copy()
            if view:
                angle = rng.normal(0, TURN)
                cos, sin = math.cos(angle), math.sin(angle)
                xy = moved[:, :2] - moved[0, :2]
                moved[:, :2] = np.stack([cos * xy[:, 0] - sin * xy[:, 1], sin * xy[:, 0] + cos * xy[:, 1]], axis=1)
                moved += rng.normal(0, NOISE * extent, moved.shape)
            embedding = hand_embedding(moved, settings)
            rows.append(mirrored(embedding[None])[0] if view % 2 else embedding)
    return np.stack(rows).astype(np.float32)


class EncoderNetwork(nn.Module):
    """The encoder (two hidden ReLU layers, output scaled to length 1) and, for training only, one direction per
    class: a cosine classifier, so that hands of one class gather around its direction."""

    def __init__(self, classes: int) -> None:
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(EMBEDDING_SIZE, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, HIDDEN), nn.ReLU(),
                                    nn.Linear(HIDDEN, OUTPUT))
        self.directions = nn.Parameter(torch.randn(classes, OUTPUT))

    def forward(self, embeddings: torch.Tensor) -> torch.Tensor:
        return SCALE * F.normalize(self.layers(embeddings), dim=1) @ F.normalize(self.directions, dim=1).T

    def encoder(self) -> PoseEncoder:
        linear = [layer for layer in self.layers if isinstance(layer, nn.Linear)]
        return PoseEncoder(tuple((layer.weight.detach().numpy().copy(), layer.bias.detach().numpy().copy())
                                 for layer in linear))


def train_encoder(points: np.ndarray, classes: np.ndarray, leave_out: set[str] = frozenset(), epochs: int = 15,
                  views: int = 4, seed: int = 0) -> PoseEncoder:
    """An encoder trained to tell the source classes apart, those in `leave_out` never shown."""
    kept = ~np.isin(classes, sorted(leave_out))
    names = sorted(set(classes[kept]))
    inputs = torch.from_numpy(augmented(points[kept], views, seed))
    labels = torch.from_numpy(np.repeat([names.index(c) for c in classes[kept]], views))
    torch.manual_seed(seed)
    network = EncoderNetwork(len(names))
    optimizer = torch.optim.Adam(network.parameters(), lr=1e-3, weight_decay=1e-4)
    for _ in range(epochs):
        order = torch.randperm(len(inputs))
        for start in range(0, len(inputs), 512):
            batch = order[start:start + 512]
            loss = F.cross_entropy(network(inputs[batch]), labels[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return network.eval().encoder()


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    torch.set_num_threads(max(1, args.workers))
    try:
        points, classes = crop_hands(encoder_crops(args.data, args.per_class, args.seed), args.workers)
    except ValueError as error:
        raise SystemExit(f"{args.data}: {error}") from None
    encoder = train_encoder(points, classes, set(args.leave_out), args.epochs, args.views, args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(encoder.to_json() + "\n", encoding="utf-8")
    shown = sorted(set(classes) - set(args.leave_out))
    print(f"pose encoder trained on {len(points)} crops of {len(shown)} classes ({', '.join(shown)}) -> {args.out}")


if __name__ == "__main__":
    main()
