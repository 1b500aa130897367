"""Gestures taught from a few examples of one person, then shown by other people: for each HaGRID gesture the
classifier does not know, each training frame of it in turn is the teacher, held still in front of the camera (its
hand's landmarks found `k` times in regions jittered as a tracked hand's are); the taught gesture is then judged on
the other people's frames of `--split`, each held as a photo: the share of its own frames that fire it held 1.0 s,
and of every other class's frames (the classifier's gestures included; not SubhiH's counting frames, which show the
taught poses unnamed) that fire it held 2.5 s. Each gesture is matched by a pose encoder trained without it
(`training.pose_encoder --leave-out`), so that every taught gesture is one the encoder never saw; `--encoder shipped`
uses the landmark model's own.

    python -m benchmarks.few_shot --split train            # to choose on (the teacher's own frame left out)
    python -m benchmarks.few_shot --split test --k 3 5 10  # to report, once
"""

from __future__ import annotations

import argparse
import csv
import math
import statistics
import zlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from multiprocessing import Pool
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError
from tqdm import tqdm

from runtime.custom_gestures import (
    EMBEDDING_SIZE,
    CustomGesture,
    TeachingError,
    confidence_at,
    decide_with_custom,
    hand_embedding,
    learn_gesture,
    nearest_example_distances,
    reads_as_builtin,
    teaching_hand,
)
from runtime.hand_landmarks import RegionOfInterest
from runtime.images import read_rgb
from runtime.paths import classifier_model, data_dir, landmark_model, palm_model
from runtime.pipeline import GesturePipeline, Hand, Prediction
from runtime.pose_encoder import PoseEncoder
from runtime.reactions import HoldToConfirm
from runtime.settings import CustomGestureSettings, ReactionSettings
from training.gestures import UNNAMED_POSES
from training.pose_encoder import crop_hands, encoder_crops, train_encoder

CAMERA_FPS = 30
"""Frames a second of the held photos."""
RECALL_HOLD_S, FALSE_HOLD_S = 1.0, 2.5
"""How long a photo of the taught gesture, and of anything else, is held."""
JITTER = (0.04, 0.08, 0.08)
"""Standard deviations of a teaching view's region: its centre (in region sides), its scale (log) and its turn
(radians): how a tracked hand's region moves while a person holds a pose."""
UNNAMED = set(UNNAMED_POSES)
"""Source classes whose frames show poses unnamed (SubhiH's counting on fingers: a fist, one to four fingers, an
open hand): never taught, nor judged, since a taught pose may be the very one such a frame shows."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=data_dir())
    p.add_argument("--split", choices=("train", "test"), default="train", help="whose frames judge the taught gestures")
    p.add_argument("--k", type=int, nargs="+", default=[3, 5, 10], help="examples a gesture is taught with")
    p.add_argument("--match-distance", type=float, nargs="*", default=[],
                   help="other match distances to try besides the landmark model's (to choose one)")
    p.add_argument("--teachers", type=int, default=0, help="at most this many teachers per gesture (0: all)")
    p.add_argument("--encoder", choices=("leave-out", "shipped"), default="leave-out",
                   help="a pose encoder trained without the taught gesture, or the landmark model's")
    p.add_argument("--encoder-crops", type=int, default=1000,
                   help="crops of each source class the left-out encoders are trained on")
    p.add_argument("--workers", type=int, default=2)
    return p.parse_args(argv)


@dataclass(frozen=True)
class Frame:
    path: str
    source_class: str
    hands: list[Hand]
    views: list[Hand]
    """The teaching hand found again in jittered regions (training frames of a gesture to teach only)."""


_pipeline: GesturePipeline | None = None


def _start() -> None:
    global _pipeline
    _pipeline = GesturePipeline(palm_model(), landmark_model(), classifier_model(), threads=1)


def _frame(task: tuple[Path, dict[str, str], int, bool]) -> Frame | None:
    root, row, views, teach = task
    try:
        image = read_rgb(root / row["path"])
    except (OSError, UnidentifiedImageError, ValueError):
        return None
    hands = _pipeline.hands(image)
    hand = teaching_hand(hands)
    return Frame(row["path"], row["source_class"], hands,
                 jittered_views(_pipeline, image, hand, views, row["path"]) if teach and hand else [])


def jittered_views(pipeline: GesturePipeline, image: np.ndarray, hand: Hand, count: int, seed: str) -> list[Hand]:
    """The hand's landmarks and probabilities in `count` regions around it, jittered by `JITTER`."""
    roi = pipeline.landmarker.around_hand(hand.landmarks.points)
    rng = np.random.default_rng(zlib.crc32(seed.encode()))
    picture = Image.fromarray(image)
    found = []
    for _ in range(count):
        shift, scale, turn = JITTER
        region = RegionOfInterest(roi.x + rng.normal(0, shift) * roi.side, roi.y + rng.normal(0, shift) * roi.side,
                                  roi.side * math.exp(rng.normal(0, scale)), roi.rotation + rng.normal(0, turn))
        landmarks = pipeline.landmarker(picture, region)
        if landmarks.presence >= pipeline.settings.min_presence:
            found += pipeline.classify(image, [landmarks], [1.0])
    return found


def fires(prediction: Prediction, gesture: str, seconds: float, settings: ReactionSettings) -> bool:
    """Whether a photo whose every frame is decided `prediction` fires `gesture` when held `seconds`."""
    if prediction.label != gesture or prediction.score < settings.threshold:
        return False
    gate = HoldToConfirm(settings)
    return any(gate.update(prediction.label, prediction.score, 1000 * i / CAMERA_FPS).reaction
               for i in range(round(seconds * CAMERA_FPS) + 1))


@dataclass
class Result:
    recall: list[float]
    false_fires: list[float]
    refusals: Counter[str] = field(default_factory=Counter)
    """Teachings refused, by TeachingError code."""

    @property
    def refused(self) -> int:
        return self.refusals.total()


def judge(gesture: CustomGesture, teacher: str, judged: Judged, pipeline: GesturePipeline,
          settings: CustomGestureSettings, encoder: PoseEncoder, reactions: ReactionSettings,
          taught_class: str) -> tuple[float, float]:
    """The share of the taught class's frames (other people's) that fire it, and of the others' frames."""
    near = np.full(len(judged.frames), np.inf)
    if len(judged.embeddings):
        np.minimum.at(near, judged.frame_of, nearest_example_distances(judged.embeddings, gesture.examples, encoder))
    mine = others = fired_mine = fired_others = 0
    for frame, prediction, distance in zip(judged.frames, judged.predictions, near, strict=True):
        if frame.path == teacher:
            continue
        decided = prediction if confidence_at(float(distance), settings) < reactions.threshold else \
            decide_with_custom(prediction, [gesture], pipeline.gestures, pipeline.settings.min_gesture_score, settings,
                               encoder)
        if frame.source_class == taught_class:
            mine += 1
            fired_mine += fires(decided, gesture.name, RECALL_HOLD_S, reactions)
        else:
            others += 1
            fired_others += fires(decided, gesture.name, FALSE_HOLD_S, reactions)
    return fired_mine / max(mine, 1), fired_others / max(others, 1)


@dataclass(frozen=True)
class Judged:
    """The frames that judge taught gestures, each decided by the classifier alone, and the embeddings of their
    hands that a taught gesture may be (`frame_of`: each embedding's frame)."""

    frames: list[Frame]
    predictions: list[Prediction]
    embeddings: np.ndarray
    frame_of: np.ndarray

    @classmethod
    def of(cls, frames: list[Frame], pipeline: GesturePipeline, settings: CustomGestureSettings) -> Judged:
        predictions = [pipeline.decide(frame.hands) for frame in frames]
        minimum = pipeline.settings.min_gesture_score
        pairs = [(i, hand_embedding(hand.landmarks.points, settings)) for i, (frame, prediction)
                 in enumerate(zip(frames, predictions, strict=True)) if prediction.label == "none"
                 for hand in frame.hands if not reads_as_builtin(hand, pipeline.gestures, minimum)]
        embeddings = np.stack([e for _, e in pairs]) if pairs else np.zeros((0, EMBEDDING_SIZE), np.float32)
        return cls(frames, predictions, embeddings, np.asarray([i for i, _ in pairs], dtype=np.int64))


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    rows = list(csv.DictReader((args.data / "manifest.csv").open(encoding="utf-8")))
    frames_rows = [r for r in rows if r["kind"] == "frame" and r["split"] == args.split
                   and r["source_class"] not in UNNAMED]
    teach_rows = [r for r in rows if r["kind"] == "frame" and r["split"] == "train"]
    pipeline = GesturePipeline(palm_model(), landmark_model(), classifier_model())
    builtin = list(pipeline.gestures)
    taught_classes = sorted({r["source_class"] for r in teach_rows} - set(builtin) - UNNAMED)
    teachers = [r for r in teach_rows if r["source_class"] in taught_classes]
    if args.teachers:
        by_class = defaultdict(list)
        for r in teachers:
            by_class[r["source_class"]].append(r)
        teachers = [r for rs in by_class.values() for r in rs[:args.teachers]]
    view_count = max(args.k)
    teaching = {r["path"] for r in teachers}
    tasks = [(args.data, r, view_count, False) for r in frames_rows if r["path"] not in teaching]
    tasks += [(args.data, r, view_count, True) for r in teachers]
    with Pool(args.workers, initializer=_start) as pool:
        found = list(tqdm(pool.imap(_frame, tasks, chunksize=4), total=len(tasks), desc="frames", unit="frame"))
    skipped = sum(frame is None for frame in found)
    by_path = {frame.path: frame for frame in found if frame is not None}
    judged = [by_path[r["path"]] for r in frames_rows if r["path"] in by_path]
    judged = Judged.of(judged, pipeline, pipeline.landmarker.metadata.custom_gestures)
    reactions = pipeline.classifier.metadata.reactions
    shipped = pipeline.landmarker.metadata.custom_gestures
    distances = [shipped.match_distance, *args.match_distance]
    print(f"{len(judged.frames)} {args.split} frames judged ({skipped} unreadable skipped); teachers: training "
          f"frames of {', '.join(taught_classes)}; hold-to-confirm {reactions}")
    encoders = pose_encoders(args, taught_classes, pipeline.landmarker.metadata.pose_encoder)
    for distance in distances:
        settings = replace(shipped, match_distance=distance)
        results: dict[tuple[str, int], Result] = defaultdict(lambda: Result([], []))
        for row in tqdm(teachers, desc=f"teachers (match distance {distance:g})", unit="teacher", leave=False):
            frame = by_path.get(row["path"])
            if frame is None:
                continue
            for k in args.k:
                result = results[(row["source_class"], k)]
                try:
                    gesture = learn_gesture("taught", "", [[view] for view in frame.views[:k]], builtin, {}, [],
                                            pipeline.settings.min_gesture_score, settings,
                                            encoders[row["source_class"]])
                except TeachingError as refusal:
                    result.refusals[refusal.code] += 1
                    continue
                recall, false = judge(gesture, row["path"], judged, pipeline, settings,
                                      encoders[row["source_class"]], reactions, row["source_class"])
                result.recall.append(recall)
                result.false_fires.append(false)
        print(table(results, taught_classes, args.k, distance))


def pose_encoders(args: argparse.Namespace, taught_classes: list[str], shipped: PoseEncoder) -> dict[str, PoseEncoder]:
    """The encoder each taught class is matched with: one trained without it, or the shipped one."""
    if args.encoder == "shipped":
        return dict.fromkeys(taught_classes, shipped)
    points, classes = crop_hands(encoder_crops(args.data, args.encoder_crops), args.workers)
    return {name: train_encoder(points, classes, {name}) for name in tqdm(taught_classes, desc="pose encoders",
                                                                          unit="encoder", leave=False)}


def table(results: dict[tuple[str, int], Result], classes: list[str], ks: list[int], distance: float) -> str:
    """Per gesture and k: recall and false fires averaged over teachers, the teachings refused; then the median."""
    lines = [f"\nmatch distance {distance:g}: recall held {RECALL_HOLD_S:g} s / false fires held {FALSE_HOLD_S:g} s "
             "(mean over teachers), teachings refused",
             f"{'gesture':<16}" + "".join(f"{f'k={k}':>26}" for k in ks)]
    medians: dict[int, tuple[list[float], list[float]]] = {k: ([], []) for k in ks}
    for name in classes:
        cells = []
        for k in ks:
            result = results.get((name, k), Result([], []))
            if not result.recall:
                cells.append(f"{'-':>26}")
                continue
            recall, false = statistics.fmean(result.recall), statistics.fmean(result.false_fires)
            medians[k][0].append(recall)
            medians[k][1].append(false)
            taught = result.refused + len(result.recall)
            cells.append(f"{recall:>9.2f} {100 * false:>7.2f}% {result.refused:>3}/{taught:<4}")
        lines.append(f"{name:<16}" + "".join(cells))
    lines.append(f"{'median':<16}" + "".join(f"{statistics.median(r) if r else math.nan:>9.2f} "
                                             f"{100 * statistics.median(f) if f else math.nan:>7.2f}%{'':>9}"
                                             for r, f in medians.values()))
    refusals = sum((result.refusals for (_, k), result in results.items() if k == max(ks)), Counter())
    lines.append(f"teachings refused with k={max(ks)}, by reason: "
                 + (", ".join(f"{code} {count}" for code, count in refusals.most_common()) or "none"))
    return "\n".join(lines)


if __name__ == "__main__":
    main()
