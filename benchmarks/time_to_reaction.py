"""`python -m benchmarks.time_to_reaction`: what a participant feels, replayed in Python without a browser: photos
held in front of a 30 fps camera go through `runtime.tracking` and hold-to-confirm (`runtime.reactions`), the
widget's two halves, as the browser's worker takes them: one frame at a time, the newest camera frame whenever it
is free, each frame costing the worker what its models cost in the browser (`Costs`, from `benchmarks.browser`).

- Held gestures: each gesture photo held 0.6, 0.8, 1.0, 1.5 and 2.5 s after a `none` photo and before black; per
  gesture and hold, the share that fires its own reaction, the median and 90th percentile from the photo's first
  frame to the reaction, reactions of the wrong kind, and the median time to find the hand.
- Held `none`: every `none` photo held 2.5 s after black, and all of them as a fast stream (133 ms each): false
  reactions, each listed with its photo.
- Idle: a head-and-shoulders picture with its hands painted out, moved by a pixel or two and re-lit a little every
  frame, for 60 s, still and with a slow 20 px sway: the worker's busy share of one core and detector runs a
  second; then a hand raised into it (a gesture photo): the time to find it.

Held-out training frames by default (`--split train`, as `export.tune_pipeline`); `--split test` is for reporting,
once. `--sweep` replays the recorded answers through other hold-to-confirm numbers, to choose them.
"""

from __future__ import annotations

import argparse
import itertools
import math
import sys
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter
from tqdm import tqdm

from runtime.classifier import read_metadata
from runtime.paths import classifier_model, data_dir, landmark_model, palm_model
from runtime.pipeline import GesturePipeline
from runtime.reactions import HoldToConfirm
from runtime.settings import ReactionSettings
from runtime.tracking import HandTracker, TrackedFrame
from tests.camera_clips import FRAME_SIZE, fit_to_frame
from training.datasets import Sample, load_samples
from training.pipeline_crops import frame_halves

CAMERA_FPS = 30
HOLDS_S = (0.6, 0.8, 1.0, 1.5, 2.5)
LEAD_S = 1.0
"""The `none` photo shown before each gesture photo."""
TAIL_S = 0.5
"""Black after each held photo: a reaction whose frame was taken before it still counts."""
NONE_HOLD_S = 2.5
FAST_NONE_S = 4 / CAMERA_FPS
IDLE_S = 60.0
SWAY_PX = 20
SWAY_PERIOD_S = 4.0
JITTER_PX = 2
RELIGHT = 0.02
"""Idle frames move by up to JITTER_PX pixels and change brightness by up to this share, at random, every frame."""
RAISE_AFTER_S = 2.0
"""Idle frames (with the sway) before a hand is raised into the picture."""


@dataclass(frozen=True)
class Costs:
    """Milliseconds of the worker a frame costs, by what ran on it. Defaults: headless Chromium's wasm on the
    2-core machine the README names (a frame running the detector ~64 ms, landmarks alone ~29 ms)."""

    frame: float = 3.0
    palm: float = 33.0
    landmarks: float = 22.0
    classifier: float = 6.0

    def of(self, tracked: TrackedFrame) -> float:
        classified = len(tracked.prediction.hands) > tracked.still
        return (self.frame + self.palm * tracked.detected + self.landmarks * len(tracked.regions)
                + self.classifier * classified)


@dataclass(frozen=True)
class Processed:
    """One frame the worker took: when (hold-to-confirm's timestamp), when its answer came, the segment of the
    stream it showed, its decision, and what ran."""

    start: float
    done: float
    segment: int
    gesture: str
    confidence: float
    hands: int
    detected: bool
    cost: float


Frame = np.ndarray | None
"""A camera frame: RGB, or None for black."""


def replay(tracker: HandTracker, segments: Sequence[tuple[Sequence[Frame] | Frame, float]], costs: Costs,
           fps: int = CAMERA_FPS) -> list[Processed]:
    """`segments` (a picture held for seconds, or a list of pictures one per camera frame) as a camera at `fps`
    delivers them, through the tracker as the worker takes them: when free, the newest frame; when none is new,
    the next one; after an idle frame, none sooner than `idle_fps` allows."""
    black = np.zeros((FRAME_SIZE[1], FRAME_SIZE[0], 3), np.uint8)
    frames: list[tuple[int, Frame]] = []
    for index, (picture, seconds) in enumerate(segments):
        count = round(seconds * fps)
        pictures = picture if isinstance(picture, list) else [picture] * count
        frames += [(index, frame) for frame in pictures[:count]]
    idle_interval = 1000 / tracker.pipeline.settings.idle_fps
    processed, free, next_frame, not_before = [], 0.0, 0, 0.0
    while (k := max(next_frame, math.floor(max(free, not_before) * fps / 1000 + 1e-9))) < len(frames):
        segment, picture = frames[k]
        start = max(free, not_before, k * 1000 / fps)
        tracked = tracker(black if picture is None else picture, start)
        cost = costs.of(tracked)
        prediction = tracked.prediction
        processed.append(Processed(start, start + cost, segment, prediction.label, prediction.score,
                                   len(prediction.hands), tracked.detected, cost))
        free, next_frame = start + cost, k + 1
        not_before = start + idle_interval if tracked.idle else 0.0
    return processed


def reactions(processed: list[Processed], settings: ReactionSettings) -> list[tuple[str, Processed]]:
    """The reactions hold-to-confirm fires over the frames, each with the frame it fired on."""
    gate = HoldToConfirm(settings)
    fired = []
    for frame in processed:
        reaction = gate.update(frame.gesture, frame.confidence, frame.start).reaction
        if reaction:
            fired.append((reaction.gesture, frame))
    return fired


@dataclass(frozen=True)
class Trial:
    """A photo held in a stream, and the frames the worker took."""

    label: str
    photo: Path
    hold_s: float
    segment: int
    """The segment that shows the photo."""
    segment_start: float
    """Its first camera frame, in ms."""
    processed: list[Processed]

    def found_ms(self) -> float | None:
        """From the photo's first frame to the first answer with a hand in it."""
        return next((f.done - self.segment_start for f in self.processed if f.segment == self.segment and f.hands),
                    None)

    def outcome(self, settings: ReactionSettings) -> tuple[str | None, float | None, list[tuple[str, Processed]]]:
        """The photo's first reaction (taken on one of its frames) and its delay from the photo's first frame; and
        every reaction on frames of other segments (the `none` photo before it, the black after)."""
        fired = reactions(self.processed, settings)
        own = [(g, f) for g, f in fired if f.segment == self.segment]
        others = [(g, f) for g, f in fired if f.segment != self.segment]
        if not own:
            return None, None, others
        gesture, frame = own[0]
        return gesture, frame.done - self.segment_start, others


def fitted(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(fit_to_frame(image))


def held_trials(tracker: HandTracker, gestures: list[Sample], nones: list[Sample], costs: Costs,
                holds: Sequence[float]) -> list[Trial]:
    """Each gesture photo held for each of `holds`, after a `none` photo (in turn) and before black."""
    trials = []
    pairs = list(itertools.product(gestures, holds))
    for index, (sample, hold) in enumerate(tqdm(pairs, desc="held gestures", leave=False)):
        tracker.reset()
        lead = fitted(nones[index % len(nones)].path)
        processed = replay(tracker, [(lead, LEAD_S), (fitted(sample.path), hold), (None, TAIL_S)], costs)
        trials.append(Trial(sample.label, sample.path, hold, 1, LEAD_S * 1000, processed))
    return trials


def none_trials(tracker: HandTracker, nones: list[Sample], costs: Costs) -> list[Trial]:
    """Each `none` photo held NONE_HOLD_S after black."""
    trials = []
    for sample in tqdm(nones, desc="held none", leave=False):
        tracker.reset()
        processed = replay(tracker, [(None, TAIL_S), (fitted(sample.path), NONE_HOLD_S)], costs)
        trials.append(Trial("none", sample.path, NONE_HOLD_S, 1, TAIL_S * 1000, processed))
    return trials


def fast_none(tracker: HandTracker, nones: list[Sample], costs: Costs) -> list[Processed]:
    """Every `none` photo for FAST_NONE_S, one after the other."""
    tracker.reset()
    return replay(tracker, [(fitted(s.path), FAST_NONE_S) for s in nones], costs)


def idle_picture(pipeline: GesturePipeline, candidates: list[Sample]) -> tuple[np.ndarray, Path]:
    """The first candidate whose hands, painted over with a blur of the photo, leave a picture in which the whole
    pipeline (all its views) finds no hand: a participant in front of the camera, hands down."""
    for sample in candidates:
        image = fit_to_frame(Image.open(sample.path), (FRAME_SIZE[0] + 2 * SWAY_PX, FRAME_SIZE[1] + 2 * SWAY_PX))
        hands = pipeline.hands(np.asarray(image))
        if not hands:
            continue
        blurred = image.filter(ImageFilter.GaussianBlur(24))
        for hand in hands:
            left, top, right, bottom = hand.box
            pad = (right - left) // 3
            box = (max(0, left - pad), max(0, top - pad), min(image.width, right + pad),
                   min(image.height, bottom + pad))
            image.paste(blurred.crop(box), box[:2])
        picture = np.asarray(image)
        if not pipeline.hands(picture):
            return picture, sample.path
    raise SystemExit("no candidate photo could be made free of hands")


def idle_frames(picture: np.ndarray, seconds: float, sway: bool, seed: int = 0) -> Iterator[np.ndarray]:
    """`picture` (SWAY_PX larger than a frame on each side) seen through a frame-sized window that jitters and,
    with `sway`, drifts side to side; re-lit a little every frame."""
    rng = np.random.default_rng(seed)
    for k in range(round(seconds * CAMERA_FPS)):
        dx, dy = rng.integers(-JITTER_PX, JITTER_PX + 1, 2)
        if sway:
            dx += round((SWAY_PX - JITTER_PX) * math.sin(2 * math.pi * k / (CAMERA_FPS * SWAY_PERIOD_S)))
        left, top = SWAY_PX + dx, SWAY_PX + dy
        window = picture[top:top + FRAME_SIZE[1], left:left + FRAME_SIZE[0]].astype(np.float32)
        yield np.clip(window * (1 + rng.uniform(-RELIGHT, RELIGHT)), 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class IdleFigures:
    name: str
    busy_share: float
    detector_per_s: float
    fps: float
    reactions: int


def idle(tracker: HandTracker, picture: np.ndarray, sway: bool, costs: Costs, settings: ReactionSettings,
         seconds: float = IDLE_S) -> IdleFigures:
    tracker.reset()
    processed = replay(tracker, [(list(idle_frames(picture, seconds, sway)), seconds)], costs)
    return IdleFigures("idle, with a 20 px sway" if sway else "idle, still", sum(f.cost for f in processed)
                       / (seconds * 1000), sum(f.detected for f in processed) / seconds, len(processed) / seconds,
                       len(reactions(processed, settings)))


def raised_trials(tracker: HandTracker, picture: np.ndarray, gestures: list[Sample], costs: Costs) -> list[Trial]:
    """Idle frames with the sway, then a gesture photo held 1 s: how soon its hand is found."""
    trials = []
    for index, sample in enumerate(tqdm(gestures, desc="raised hands", leave=False)):
        tracker.reset()
        lead = list(idle_frames(picture, RAISE_AFTER_S, sway=True, seed=index))
        processed = replay(tracker, [(lead, RAISE_AFTER_S), (fitted(sample.path), 1.0)], costs)
        trials.append(Trial(sample.label, sample.path, 1.0, 1, RAISE_AFTER_S * 1000, processed))
    return trials


def quantile(values: list[float], q: float) -> float:
    return float(np.quantile(values, q)) if values else math.nan


def held_rows(trials: list[Trial], settings: ReactionSettings) -> list[str]:
    rows = ["| gesture | held | fired its own | median to reaction | p90 | wrong kind | median to hand found |",
            "|---|---|---|---|---|---|---|"]
    for (label, hold), group in itertools.groupby(sorted(trials, key=lambda t: (t.label, t.hold_s)),
                                                  key=lambda t: (t.label, t.hold_s)):
        group = list(group)
        outcomes = [t.outcome(settings) for t in group]
        delays = [delay for gesture, delay, _ in outcomes if gesture == label]
        wrong = Counter(gesture for gesture, _, _ in outcomes if gesture not in (None, label))
        found = [ms for t in group if (ms := t.found_ms()) is not None]
        rows.append(f"| {label} | {hold:.1f} s | {len(delays)}/{len(group)} ({100 * len(delays) / len(group):.0f}%) "
                    f"| {quantile(delays, 0.5):.0f} ms | {quantile(delays, 0.9):.0f} ms | {dict(wrong) or 0} "
                    f"| {quantile(found, 0.5):.0f} ms |")
    return rows


def false_rows(trials: list[Trial], held: list[Trial], fast: list[Processed], settings: ReactionSettings) -> list[str]:
    """Reactions from `none` photos: held, as the lead before gesture photos, and the fast stream."""
    fired = [(t.photo.name, gesture) for t in trials if (gesture := t.outcome(settings)[0])]
    lead = {(t.photo.name, g) for t in held for g, f in t.outcome(settings)[2] if f.segment == 0}
    streamed = reactions(fast, settings)
    return [f"| none photos held {NONE_HOLD_S} s that fired | {len(fired)} of {len(trials)} |",
            *(f"| held none photo that fired | {gesture} on {name} |" for name, gesture in fired),
            f"| none photos shown before gesture photos that fired | {len(lead)} |",
            f"| fast none stream ({len(fast)} frames, {FAST_NONE_S * 1000:.0f} ms a photo): reactions | "
            f"{len(streamed)} {dict(Counter(g for g, _ in streamed))} |"]


def sweep_rows(trials: list[Trial], nones: list[Trial], fast: list[Processed], thresholds: Sequence[float],
               holds: Sequence[float]) -> list[str]:
    """Per hold-to-confirm setting (cooldown 0): `none` photos that fire when held, reactions on the fast `none`
    stream, then the share of gesture photos that fire their own at each hold and the median delay at 1 s."""
    rows = ["| threshold | hold ms | none held fired | fast stream | "
            + " | ".join(f"fired at {h:.1f} s" for h in HOLDS_S) + " | median at 1.0 s |",
            "|---" * (5 + len(HOLDS_S)) + "|"]
    for threshold, hold in itertools.product(thresholds, holds):
        settings = ReactionSettings(threshold, hold, 0.0)
        false = sum(t.outcome(settings)[0] is not None for t in nones)
        streamed = len(reactions(fast, settings))
        shares, at_one = [], []
        for seconds in HOLDS_S:
            group = [t for t in trials if t.hold_s == seconds]
            outcomes = [(t.label, t.outcome(settings)) for t in group]
            right = [delay for label, (gesture, delay, _) in outcomes if gesture == label]
            shares.append(f"{100 * len(right) / max(1, len(group)):.0f}%")
            if seconds == 1.0:
                at_one = right
        rows.append(f"| {threshold:.2f} | {hold:.0f} | {false} | {streamed} | " + " | ".join(shares)
                    + f" | {quantile(at_one, 0.5):.0f} ms |")
    return rows


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=data_dir())
    p.add_argument("--split", choices=("train", "test"), default="train",
                   help="train: the held-out training frames (choose here); test: report, once")
    p.add_argument("--classifier", type=Path, default=classifier_model())
    p.add_argument("--limit", type=int, help="at most this many photos per label (a quick run, not the benchmark)")
    p.add_argument("--parts", nargs="+", choices=("held", "none", "idle"), default=["held", "none", "idle"])
    p.add_argument("--idle-seconds", type=float, default=IDLE_S, help="length of each idle stream")
    p.add_argument("--sweep", action="store_true", help="also replay through a grid of hold-to-confirm numbers")
    p.add_argument("--thresholds", type=float, nargs="+", default=[0.4, 0.5, 0.6, 0.7, 0.8])
    p.add_argument("--holds", type=float, nargs="+", default=[200, 300, 400, 500, 700])
    for name, value in vars(Costs()).items():
        p.add_argument(f"--{name}-ms", type=float, default=value, help=f"worker ms per frame for {name}")
    return p.parse_args(argv)


def photos(data: Path, split: str, limit: int | None) -> dict[str, list[Sample]]:
    samples = load_samples(data, split, "frame")
    if split == "train":
        samples = frame_halves(samples)[1]
    by_label: dict[str, list[Sample]] = {}
    for sample in sorted(samples, key=lambda s: s.path):
        by_label.setdefault(sample.label, []).append(sample)
    return {label: items[:: max(1, len(items) // limit)][:limit] if limit else items
            for label, items in by_label.items()}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    by_label = photos(args.data, args.split, args.limit)
    if "none" not in by_label or len(by_label) < 2:
        raise SystemExit(f"{args.data}: no gesture and none frames in split {args.split!r}")
    costs = Costs(args.frame_ms, args.palm_ms, args.landmarks_ms, args.classifier_ms)
    metadata = read_metadata(args.classifier)
    settings = replace(metadata.reactions, cooldown_ms=0.0)
    pipeline = GesturePipeline(palm_model(), landmark_model(), args.classifier)
    tracker = HandTracker(pipeline)
    gestures = [s for label, items in by_label.items() if label != "none" for s in items]
    nones = by_label["none"]
    print(f"{len(gestures)} gesture and {len(nones)} none photos ({args.split}); camera {CAMERA_FPS} fps; worker "
          f"costs {costs}; hold-to-confirm threshold {settings.threshold}, hold {settings.hold_ms:.0f} ms "
          f"(cooldown 0)\n")
    held: list[Trial] = []
    if "held" in args.parts:
        held = held_trials(tracker, gestures, nones, costs, HOLDS_S)
        print("\n".join(held_rows(held, settings)) + "\n")
    if "none" in args.parts:
        held_none = none_trials(tracker, nones, costs)
        fast = fast_none(tracker, nones, costs)
        print("\n".join(["| false reactions | |", "|---|---|", *false_rows(held_none, held, fast, settings)]) + "\n")
        if args.sweep and held:
            print("\n".join(sweep_rows(held, held_none, fast, args.thresholds, args.holds)) + "\n")
    if "idle" in args.parts:
        picture, source = idle_picture(pipeline, photos(args.data, args.split, None)["none"])
        figures = [idle(tracker, picture, sway, costs, settings, args.idle_seconds) for sway in (False, True)]
        raised = raised_trials(tracker, picture, gestures, costs)
        found = [ms for t in raised if (ms := t.found_ms()) is not None]
        print(f"| idle stream ({args.idle_seconds:.0f} s, {source.name} with its hands painted out) | busy share "
              "of a core | detector runs a second | frames a second | reactions |\n|---|---|---|---|---|")
        for f in figures:
            print(f"| {f.name} | {100 * f.busy_share:.0f}% | {f.detector_per_s:.1f} | {f.fps:.1f} | {f.reactions} |")
        print(f"\nhand raised into the swaying picture: found in {len(found)} of {len(raised)}, median "
              f"{quantile(found, 0.5):.0f} ms, p90 {quantile(found, 0.9):.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
