"""What a participant feels: photos held in front of a 30 fps camera, played to the widget in headless Chromium
(`--browser`) or replayed through `runtime.tracking` at the browser's per-frame costs; time to reaction of held
gestures, false reactions of `none` photos, and the idle worker's load (`--sweep` replays other hold settings).
In the browser, `--parts load` also times first visits: a fresh page to its first result, the widget's and
MediaPipe's pages taken in turn.

    python -m benchmarks.time_to_reaction [--browser] [--split train|test] [--sweep] [--with-mediapipe]
    python -m benchmarks.time_to_reaction --browser --with-mediapipe --parts load [--visits 9]
    python -m benchmarks.time_to_reaction --classifier runs/x/classifier.int8.onnx --gestures like raise_hand

With `--gestures`, frames are decided among those gestures and photos of the others count as `none` photos, as
for a host who chose them (a raise-hand photo counts as fired when hold-to-confirm's numbers would fire it).
"""

from __future__ import annotations

import argparse
import functools
import itertools
import math
import statistics
import sys
import tempfile
from collections import Counter
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

import numpy as np
from PIL import Image, ImageFilter
from playwright.sync_api import BrowserContext, Page, Request

from benchmarks.peer_server import MODEL, peer_server
from runtime.classifier import read_metadata
from runtime.paths import classifier_model, data_dir, landmark_model, palm_model
from runtime.pipeline import GesturePipeline
from runtime.reactions import HoldToConfirm
from runtime.settings import ReactionSettings
from runtime.tracking import HandTracker, TrackedFrame
from tests.browser_harness import (
    FakeCameraBrowser,
    fake_camera_browser,
    missing_system_tools,
    page_time_ms,
    photos_shown,
    recorded_events,
    recorded_streams,
    wait_for_event,
)
from tests.camera_clips import FRAME_SIZE, Picture, fit_to_frame, write_segments
from tests.server_process import running_server
from training.datasets import Sample, load_samples
from training.gestures import LABELS
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
PRE_ROLL_S = 6.0
"""Black at the start of each browser clip, while the page loads (a first visit: its models are not cached)."""
VISITS = 9
"""First visits of each page in the `load` part."""
END_MARGIN_MS = 1500
LOAD_TIMEOUT_S = 120
BLACK = np.zeros((FRAME_SIZE[1], FRAME_SIZE[0], 3), np.uint8)


@dataclass(frozen=True)
class Costs:
    """Milliseconds of the worker a frame costs, by what ran on it; defaults measured in headless Chromium on the
    project's 2-core machine (docs/results.md) (a frame running the detector ~64 ms, landmarks alone ~29 ms)."""

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
    looked: bool
    """Whether the landmark model ran (a new palm, or a tracked hand that moved)."""
    cost: float


Segment = tuple[Picture, float]
"""A picture held for seconds, or frame-sized pictures one per camera frame (`tests.camera_clips.Picture`)."""


class Player(Protocol):
    """Plays segments in order as one camera stream, from a fresh start (a new page, a reset tracker): the frames
    the worker took, with the segment each showed, and each segment's first frame's time (ms, the frames' clock)."""

    max_frames: int
    """The most camera frames one call may play (the browser's clips are raw video)."""
    reports_detector: bool
    """Whether its frames say when a palm detector ran (MediaPipe's do not)."""

    def __call__(self, segments: list[Segment]) -> tuple[list[Processed], list[float]]: ...


class PythonPlayer:
    """`runtime.tracking` as the browser's worker takes frames: when free, the newest frame; when none is new, the
    next one; after an idle frame, none sooner than `idle_fps` allows. Each frame costs the worker `costs`."""

    max_frames = 10 ** 9
    reports_detector = True

    def __init__(self, tracker: HandTracker, costs: Costs, fps: int = CAMERA_FPS) -> None:
        self.tracker, self.costs, self.fps = tracker, costs, fps

    def __call__(self, segments: list[Segment]) -> tuple[list[Processed], list[float]]:
        self.tracker.reset()
        counts = [round(seconds * self.fps) for _, seconds in segments]
        first = np.cumsum([0, *counts])
        idle_interval = 1000 / self.tracker.pipeline.settings.idle_fps
        processed, free, next_frame, not_before = [], 0.0, 0, 0.0
        while (k := max(next_frame, math.floor(max(free, not_before) * self.fps / 1000 + 1e-9))) < first[-1]:
            segment = int(np.searchsorted(first, k, side="right")) - 1
            start = max(free, not_before, k * 1000 / self.fps)
            tracked = self.tracker(self._picture(segments[segment][0], k - first[segment]), start)
            cost = self.costs.of(tracked)
            prediction = tracked.prediction
            processed.append(Processed(start, start + cost, segment, prediction.label, prediction.score,
                                       len(prediction.hands), tracked.detected, bool(tracked.regions), cost))
            free, next_frame = start + cost, k + 1
            not_before = start + idle_interval if tracked.idle else 0.0
        return processed, [1000 * f / self.fps for f in first[:-1]]

    @staticmethod
    @functools.lru_cache(maxsize=4)
    def _fitted(path: Path) -> np.ndarray:
        with Image.open(path) as image:
            return np.asarray(fit_to_frame(image))

    def _picture(self, picture: Picture, index: int) -> np.ndarray:
        if isinstance(picture, Path):
            return self._fitted(picture)
        if picture is None:
            return BLACK
        return picture if isinstance(picture, np.ndarray) else picture[min(index, len(picture) - 1)]


class BrowserPlayer:
    """The widget in headless Chromium, its camera a clip of the segments after PRE_ROLL_S of black (the page loads
    meanwhile): the `gesture` events of the clip's first pass, each frame's worker time, and the segments' starts
    in page time (estimated from the first grab of each segment)."""

    max_frames = 3600
    """About 1.6 GB of raw video at 640 x 480."""

    def __init__(self, browser: FakeCameraBrowser, page_url: str, workdir: Path, fps: int = CAMERA_FPS,
                 reports_detector: bool = True) -> None:
        self.browser, self.page_url, self.workdir, self.fps = browser, page_url, workdir, fps
        self.reports_detector = reports_detector
        self.first_results: list[float] = []
        """Each page's first answer, in ms from navigation start: a first visit's load to first result."""
        self.downloads: list[int] = []
        """Each page's bytes over the wire (compressed as sent), a first visit: nothing cached."""

    def first_visit(self) -> tuple[BrowserContext, Page]:
        """A fresh page (nothing cached) of the player's, once its first result came: its time since navigation
        start and the bytes it downloaded until then are recorded."""
        context = self.browser.new_context()
        finished: list[Request] = []
        context.on("requestfinished", lambda request: finished.append(request))
        page = context.new_page()
        page.goto(self.page_url)
        self.first_results.append(wait_for_event(page, "gesture", LOAD_TIMEOUT_S)["at"])
        self.downloads.append(sum(request.sizes()["responseBodySize"] for request in list(finished)))
        return context, page

    def __call__(self, segments: list[Segment]) -> tuple[list[Processed], list[float]]:
        seconds = sum(seconds for _, seconds in segments)
        print(f"playing {len(segments)} segments ({seconds:.0f} s) in Chromium ...", file=sys.stderr, flush=True)
        clip = write_segments([(None, PRE_ROLL_S), *segments], self.workdir / "clip.y4m", self.fps)
        self.browser.show(clip)
        context, page = self.first_visit()
        end = recorded_streams(page)[0]["at"] + 1000 * clip.duration + END_MARGIN_MS
        while (left := end - page_time_ms(page)) > 0:
            page.wait_for_timeout(min(10_000, left + 100))
        events = recorded_events(page, "gesture")
        shown = photos_shown(page, [event["detail"]["timestamp"] for event in events])
        context.close()
        clip.path.unlink()
        firsts: dict[int, float] = {}
        for event, number in zip(events, shown, strict=True):
            firsts.setdefault(number, event["detail"]["timestamp"])
        offset = min(at - 1000 * clip.starts[number] for number, at in firsts.items() if number > 0)
        processed = []
        for event, number in zip(events, shown, strict=True):
            detail = event["detail"]
            if number == 0 or detail["timestamp"] >= offset + 1000 * clip.duration:
                continue  # the pre-roll, or the clip's next pass
            processed.append(Processed(detail["timestamp"], event["at"], number - 1, detail["gesture"],
                                       detail["confidence"], len(detail["hands"]), detail["detected"],
                                       bool(detail.get("regions")), detail["timings"]["total"]))
        return processed, [offset + 1000 * start for start in clip.starts[1:]]


def first_visits(players: Sequence[BrowserPlayer], browser: FakeCameraBrowser, workdir: Path, visits: int) -> None:
    """Each player's page opened `visits` times with nothing cached, the players in turn (the machine's load then
    weighs on both alike), the camera showing black."""
    browser.show(write_segments([(None, PRE_ROLL_S)], workdir / "load.y4m", CAMERA_FPS))
    for visit in range(visits):
        print(f"first visit {visit + 1} of {visits} ...", file=sys.stderr, flush=True)
        for player in players:
            player.first_visit()[0].close()


def play_each(player: Player, trials: list[list[Segment]]) -> list[tuple[list[Processed], list[float]]]:
    """Trials one after another as camera streams of at most `player.max_frames` frames: each trial's frames (its
    segments numbered from its own first) and its segments' starts."""
    out: list[tuple[list[Processed], list[float]]] = []
    batch: list[list[Segment]] = []

    def flush() -> None:
        processed, starts = player([segment for trial in batch for segment in trial])
        first = 0
        for trial in batch:
            out.append(([replace(f, segment=f.segment - first) for f in processed
                         if first <= f.segment < first + len(trial)], starts[first:first + len(trial)]))
            first += len(trial)
        batch.clear()

    for trial in trials:
        if batch and frames_in([*batch, trial]) > player.max_frames:
            flush()
        batch.append(trial)
    if batch:
        flush()
    return out


def frames_in(trials: list[list[Segment]]) -> int:
    return sum(round(seconds * CAMERA_FPS) for trial in trials for _, seconds in trial)


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


def held_trials(player: Player, gestures: list[Sample], nones: list[Sample], holds: Sequence[float]) -> list[Trial]:
    """Each gesture photo held for each of `holds`, after a `none` photo (in turn) and before black."""
    pairs = list(itertools.product(holds, gestures))
    played = play_each(player, [[(nones[i % len(nones)].path, LEAD_S), (sample.path, hold), (None, TAIL_S)]
                                for i, (hold, sample) in enumerate(pairs)])
    return [Trial(sample.label, sample.path, hold, 1, starts[1], processed)
            for (hold, sample), (processed, starts) in zip(pairs, played, strict=True)]


def none_trials(player: Player, nones: list[Sample]) -> list[Trial]:
    """Each `none` photo held NONE_HOLD_S after black."""
    played = play_each(player, [[(None, TAIL_S), (sample.path, NONE_HOLD_S)] for sample in nones])
    return [Trial("none", sample.path, NONE_HOLD_S, 1, starts[1], processed)
            for sample, (processed, starts) in zip(nones, played, strict=True)]


def fast_none(player: Player, nones: list[Sample]) -> list[list[Processed]]:
    """Every `none` photo for FAST_NONE_S, one after the other, in as few streams as the player takes: the frames
    of each."""
    per_stream = max(1, player.max_frames // round(FAST_NONE_S * CAMERA_FPS))
    return [player([(sample.path, FAST_NONE_S) for sample in nones[i:i + per_stream]])[0]
            for i in range(0, len(nones), per_stream)]


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


class IdleFrames(Sequence[np.ndarray]):
    """`picture` (SWAY_PX larger than a frame on each side) seen through a frame-sized window that jitters and,
    with `sway`, drifts side to side; re-lit a little every frame. Each frame made when asked for (a minute of
    frames is 1.6 GB), the same each time."""

    def __init__(self, picture: np.ndarray, seconds: float, sway: bool, seed: int = 0) -> None:
        self.picture, self.count, self.sway, self.seed = picture, round(seconds * CAMERA_FPS), sway, seed

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, k: int) -> np.ndarray:  # type: ignore[override]
        if not 0 <= k < self.count:
            raise IndexError(k)
        rng = np.random.default_rng([self.seed, k])
        dx, dy = rng.integers(-JITTER_PX, JITTER_PX + 1, 2)
        if self.sway:
            dx += round((SWAY_PX - JITTER_PX) * math.sin(2 * math.pi * k / (CAMERA_FPS * SWAY_PERIOD_S)))
        left, top = SWAY_PX + dx, SWAY_PX + dy
        window = self.picture[top:top + FRAME_SIZE[1], left:left + FRAME_SIZE[0]].astype(np.float32)
        return np.clip(window * (1 + rng.uniform(-RELIGHT, RELIGHT)), 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class IdleFigures:
    name: str
    busy_share: float
    detector_per_s: float
    fps: float
    reactions: int


def idle(player: Player, picture: np.ndarray, sway: bool, settings: ReactionSettings,
         seconds: float = IDLE_S) -> tuple[IdleFigures, Stream]:
    """The worker's busy share of a core (its per-frame times over the wall time) and detector runs a second."""
    processed, _ = player([(IdleFrames(picture, seconds, sway), seconds)])
    name = "idle, with a 20 px sway" if sway else "idle, still"
    return IdleFigures(name, sum(f.cost for f in processed) / (seconds * 1000), sum(f.detected for f in processed)
                       / seconds, len(processed) / seconds, len(reactions(processed, settings))), \
        Stream(name, seconds, processed)


def raised_trials(player: Player, picture: np.ndarray, gestures: list[Sample]) -> list[Trial]:
    """Idle frames with the sway, then a gesture photo held 1 s: how soon its hand is found."""
    played = play_each(player, [[(IdleFrames(picture, RAISE_AFTER_S, sway=True, seed=i), RAISE_AFTER_S),
                                 (sample.path, 1.0)] for i, sample in enumerate(gestures)])
    return [Trial(sample.label, sample.path, 1.0, 1, starts[1], processed)
            for sample, (processed, starts) in zip(gestures, played, strict=True)]


@dataclass(frozen=True)
class Stream:
    """The frames the worker took over one kind of stream, and the stream's length."""

    name: str
    seconds: float
    processed: list[Processed]


def worker_rows(streams: list[Stream], reports_detector: bool) -> list[str]:
    """Per stream: frames taken a second, the worker's busy share of a core, and the per-frame median, over all
    frames and apart by what ran on them."""
    rows = ["| stream | frames a second | busy share of a core | per frame, median | ran the palm detector "
            "| the landmark model, not the detector | no model |", "|---|---|---|---|---|---|---|"]
    for stream in streams:
        frames = stream.processed
        kinds = [[f for f in frames if f.detected], [f for f in frames if f.looked and not f.detected],
                 [f for f in frames if not f.looked and not f.detected]]
        ran = [("0, -" if not k else f"{len(k)}, {quantile([f.cost for f in k], 0.5):.1f} ms") if reports_detector
               else "not reported" for k in kinds]
        rows.append(f"| {stream.name} ({stream.seconds:.0f} s) | {len(frames) / stream.seconds:.1f} "
                    f"| {100 * sum(f.cost for f in frames) / (1000 * stream.seconds):.0f}% "
                    f"| {quantile([f.cost for f in frames], 0.5):.1f} ms | " + " | ".join(ran) + " |")
    return rows


def quantile(values: list[float], q: float) -> float:
    return float(np.quantile(values, q)) if values else math.nan


def held_rows(trials: list[Trial], settings: ReactionSettings) -> list[str]:
    """Per gesture and hold: photos that fired their own reaction, the delay, reactions of the wrong kind, the time
    to find the hand, and the photos' frames read as their gesture with the median confidence of those."""
    rows = ["| gesture | held | fired its own | median to reaction | p90 | wrong kind | median to hand found "
            "| frames read as it (median confidence) |", "|---|---|---|---|---|---|---|---|"]
    for (label, hold), group in itertools.groupby(sorted(trials, key=lambda t: (t.label, t.hold_s)),
                                                  key=lambda t: (t.label, t.hold_s)):
        group = list(group)
        outcomes = [t.outcome(settings) for t in group]
        delays = [delay for gesture, delay, _ in outcomes if gesture == label]
        wrong = Counter(gesture for gesture, _, _ in outcomes if gesture not in (None, label))
        found = [ms for t in group if (ms := t.found_ms()) is not None]
        frames = [f for t in group for f in t.processed if f.segment == t.segment]
        read = [f.confidence for f in frames if f.gesture == label]
        rows.append(f"| {label} | {hold:.1f} s | {len(delays)}/{len(group)} ({100 * len(delays) / len(group):.0f}%) "
                    f"| {quantile(delays, 0.5):.0f} ms | {quantile(delays, 0.9):.0f} ms | {dict(wrong) or 0} "
                    f"| {quantile(found, 0.5):.0f} ms | {len(read)} of {len(frames)} ({quantile(read, 0.5):.2f}) |")
    return rows


def false_rows(trials: list[Trial], held: list[Trial], fast: list[list[Processed]],
               settings: ReactionSettings) -> list[str]:
    """Reactions from `none` photos: held, as the lead before gesture photos, and the fast stream."""
    fired = [(t.photo.name, gesture) for t in trials if (gesture := t.outcome(settings)[0])]
    lead = [(t.photo.name, g) for t in held for g, f in t.outcome(settings)[2] if f.segment == 0]
    streamed = [g for stream in fast for g, _ in reactions(stream, settings)]
    by_gesture = f" {dict(Counter(gesture for _, gesture in fired))}" if fired else ""
    return [f"| none photos held {NONE_HOLD_S} s that fired | {len(fired)} of {len(trials)}{by_gesture} |",
            *(f"| held none photo that fired | {gesture} on {name} |" for name, gesture in fired),
            f"| none photos shown before gesture photos that fired | {len(lead)} of {len(held)} |",
            *(f"| none photo shown before a gesture photo that fired | {gesture} before {name} |"
              for name, gesture in lead),
            f"| fast none stream ({sum(map(len, fast))} frames, {FAST_NONE_S * 1000:.0f} ms a photo): reactions | "
            f"{len(streamed)} {dict(Counter(streamed))} |"]


def sweep_rows(trials: list[Trial], nones: list[Trial], fast: list[list[Processed]], thresholds: Sequence[float],
               holds: Sequence[float]) -> list[str]:
    """Per hold-to-confirm setting (cooldown 0): `none` photos that fire when held, reactions on the fast `none`
    stream, then the share of gesture photos that fire their own at each hold and the median delay at 1 s."""
    rows = ["| threshold | hold ms | none held fired | fast stream | "
            + " | ".join(f"fired at {h:.1f} s" for h in HOLDS_S) + " | median at 1.0 s |",
            "|---" * (5 + len(HOLDS_S)) + "|"]
    for threshold, hold in itertools.product(thresholds, holds):
        settings = ReactionSettings(threshold, hold, 0.0)
        false = sum(t.outcome(settings)[0] is not None for t in nones)
        streamed = sum(len(reactions(stream, settings)) for stream in fast)
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
    p.add_argument("--classifier", type=Path, default=classifier_model(),
                   help="the classifier file the Python replay runs (the browser runs the shipped one)")
    p.add_argument("--browser", action="store_true",
                   help="play the photos to the widget in headless Chromium instead of replaying them in Python")
    p.add_argument("--with-mediapipe", action="store_true",
                   help="with --browser: play the same streams to MediaPipe's Gesture Recognizer, and compare")
    p.add_argument("--mediapipe-threshold", type=float,
                   help="hold-to-confirm's threshold for MediaPipe's frames (default: the widget's); its Thumb_Up "
                        "scores sit lower than our classifier's")
    p.add_argument("--gestures", nargs="+", help="with the Python replay: the gestures a host chose (default: the "
                   "classifier's default gestures); photos of the others are none photos")
    p.add_argument("--holds-s", type=float, nargs="+", default=list(HOLDS_S), help="how long gesture photos are held")
    p.add_argument("--limit", type=int, help="at most this many photos per label (a quick run, not the benchmark)")
    p.add_argument("--parts", nargs="+", choices=("held", "none", "idle", "load"), default=["held", "none", "idle"],
                   help="load: first visits only (--browser), the pages of the other parts count too")
    p.add_argument("--visits", type=int, default=VISITS, help="first visits of each page in the load part")
    p.add_argument("--idle-seconds", type=float, default=IDLE_S, help="length of each idle stream")
    p.add_argument("--sweep", action="store_true", help="also replay through a grid of hold-to-confirm numbers")
    p.add_argument("--thresholds", type=float, nargs="+", default=[0.4, 0.5, 0.6, 0.7, 0.8])
    p.add_argument("--holds", type=float, nargs="+", default=[200, 300, 400, 500, 700])
    for name, value in vars(Costs()).items():
        p.add_argument(f"--{name}-ms", type=float, default=value, help=f"worker ms per frame for {name}")
    return p.parse_args(argv)


def photos(data: Path, split: str, limit: int | None, labels: Sequence[str] = LABELS) -> dict[str, list[Sample]]:
    """The photos of each label of `labels` (a host's choice and `none`: photos of the other gestures are `none`
    photos), at most `limit` of each, spread over them; of the training split, only the held-out half of the frames."""
    samples = load_samples(data, split, "frame", labels)
    if split == "train":
        samples = frame_halves(samples)[1]
    by_label: dict[str, list[Sample]] = {}
    for sample in sorted(samples, key=lambda s: s.path):
        by_label.setdefault(sample.label, []).append(sample)
    return {label: items[:: max(1, len(items) // limit)][:limit] if limit else items
            for label, items in by_label.items()}


@dataclass
class Summary:
    """What the comparison with a peer needs of one player's run."""

    fired_at_one: dict[str, float]
    frame_ms: list[float]
    idle_busy: list[float]
    load_ms: list[float] = field(default_factory=list)
    download_bytes: list[int] = field(default_factory=list)


def report(player: Player, args: argparse.Namespace, by_label: dict[str, list[Sample]],
           pipeline: GesturePipeline, settings: ReactionSettings) -> Summary:
    """Plays each part of the benchmark with `player` and prints its tables."""
    gestures = [s for label, items in by_label.items() if label != "none" for s in items]
    nones = by_label["none"]
    summary = Summary({}, [], [])
    streams: list[Stream] = []
    held: list[Trial] = []
    if "held" in args.parts:
        held = held_trials(player, gestures, nones, args.holds_s)
        print("\n".join(held_rows(held, settings)) + "\n", flush=True)
        for label in {t.label for t in held}:
            at_one = [t for t in held if t.label == label and t.hold_s == 1.0]
            if at_one:
                summary.fired_at_one[label] = sum(t.outcome(settings)[0] == label for t in at_one) / len(at_one)
        summary.frame_ms += [f.cost for t in held for f in t.processed]
        streams.append(Stream("gesture photos held, between none photos and black",
                              sum(LEAD_S + t.hold_s + TAIL_S for t in held), [f for t in held for f in t.processed]))
    if "none" in args.parts:
        held_none = none_trials(player, nones)
        fast = fast_none(player, nones)
        print("\n".join(["| false reactions | |", "|---|---|", *false_rows(held_none, held, fast, settings)]) + "\n",
              flush=True)
        streams += [Stream(f"none photos held {NONE_HOLD_S} s after black", len(held_none) * (TAIL_S + NONE_HOLD_S),
                           [f for t in held_none for f in t.processed]),
                    Stream(f"the fast none stream ({FAST_NONE_S * 1000:.0f} ms a photo)", len(nones) * FAST_NONE_S,
                           [f for stream in fast for f in stream])]
        if args.sweep and held:
            print("\n".join(sweep_rows(held, held_none, fast, args.thresholds, args.holds)) + "\n")
    if "idle" in args.parts:
        picture, source = idle_picture(pipeline, photos(args.data, args.split, None)["none"])
        figures, idle_streams = zip(*(idle(player, picture, sway, settings, args.idle_seconds)
                                      for sway in (False, True)), strict=True)
        summary.idle_busy = [f.busy_share for f in figures]
        streams += idle_streams
        raised = raised_trials(player, picture, gestures)
        found = [ms for t in raised if (ms := t.found_ms()) is not None]
        print(f"| idle stream ({args.idle_seconds:.0f} s, {source.name} with its hands painted out) | busy share "
              "of a core | detector runs a second | frames a second | reactions |\n|---|---|---|---|---|")
        for f in figures:
            detector = f"{f.detector_per_s:.1f}" if player.reports_detector else "not reported"
            print(f"| {f.name} | {100 * f.busy_share:.0f}% | {detector} | {f.fps:.1f} | {f.reactions} |")
        print(f"\nhand raised into the swaying picture: found in {len(found)} of {len(raised)}, median "
              f"{quantile(found, 0.5):.0f} ms, p90 {quantile(found, 0.9):.0f} ms\n", flush=True)
    if streams:
        print("\n".join(worker_rows(streams, player.reports_detector)) + "\n")
    if isinstance(player, BrowserPlayer) and player.first_results:
        summary.load_ms, summary.download_bytes = player.first_results, player.downloads
        print(f"load to first result, first visit: median {statistics.median(player.first_results):.0f} ms over "
              f"{len(player.first_results)} pages; download {statistics.median(player.downloads) / 1e6:.2f} MB over "
              "the wire (median)\n", flush=True)
    return summary


def comparison_rows(ours: Summary, peer: Summary) -> list[str]:
    """Our figures against MediaPipe's, measured in the same run, and their ratio."""
    def row(name: str, a: float, b: float, unit: str) -> str:
        return f"| {name} | {a:.{0 if unit == 'ms' else 2}f} {unit} | {b:.{0 if unit == 'ms' else 2}f} {unit} | " \
               f"{a / b if b else math.nan:.2f} |"
    rows = ["| figure | gesture-reactions | MediaPipe | ratio |", "|---|---|---|---|"]
    if ours.load_ms and peer.load_ms:
        rows.append(row("load to first result, first visit, median", statistics.median(ours.load_ms),
                        statistics.median(peer.load_ms), "ms"))
        rows.append(row("download, first visit, median", statistics.median(ours.download_bytes) / 1e6,
                        statistics.median(peer.download_bytes) / 1e6, "MB"))
    if ours.frame_ms and peer.frame_ms:
        rows.append(row("per-frame time, median (held photos)", statistics.median(ours.frame_ms),
                        statistics.median(peer.frame_ms), "ms"))
    for name, a, b in zip(("idle, still", "idle, with the sway"), ours.idle_busy, peer.idle_busy, strict=False):
        rows.append(row(f"busy share of a core, {name}", a, b, "of a core"))
    for label in sorted(ours.fired_at_one):
        if label in peer.fired_at_one:
            rows.append(row(f"{label} photos held 1.0 s that fire", ours.fired_at_one[label],
                            peer.fired_at_one[label], "share"))
    return rows


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.gestures and args.browser:
        raise SystemExit("--gestures: the Python replay only (the browser runs the shipped classifier's gestures)")
    if "load" in args.parts and not args.browser:
        raise SystemExit("--parts load: first visits are timed in the browser only (--browser)")
    metadata = read_metadata(args.classifier)
    try:
        pipeline = GesturePipeline(palm_model(), landmark_model(), args.classifier, gestures=args.gestures)
    except ValueError as error:
        raise SystemExit(f"--gestures: {error}") from error
    by_label = photos(args.data, args.split, args.limit, (*pipeline.gestures, "none"))
    if "none" not in by_label or len(by_label) < 2:
        raise SystemExit(f"{args.data}: no gesture and none frames in split {args.split!r}")
    costs = Costs(args.frame_ms, args.palm_ms, args.landmarks_ms, args.classifier_ms)
    settings = replace(metadata.reactions, cooldown_ms=0.0)
    count = sum(map(len, by_label.values()))
    where = "headless Chromium, the widget's defaults" if args.browser else f"Python replay, worker costs {costs}"
    print(f"{count} photos ({args.split}); gestures {', '.join(pipeline.gestures)}; camera {CAMERA_FPS} fps; "
          f"{where}; reactions by hold-to-confirm at "
          f"threshold {settings.threshold}, hold {settings.hold_ms:.0f} ms, cooldown 0\n")
    if not args.browser:
        report(PythonPlayer(HandTracker(pipeline), costs), args, by_label, pipeline, settings)
        return 0
    if missing := missing_system_tools():
        print(f"not installed: {', '.join(missing)} (`make setup` installs them)", file=sys.stderr)
        return 2
    with (tempfile.TemporaryDirectory() as workdir, running_server() as server,
          peer_server() if args.with_mediapipe else nullcontext("") as peer_url,
          fake_camera_browser(Path(workdir)) as browser):
        ours = BrowserPlayer(browser, f"{server.url}/?enabled=1", Path(workdir))
        peer = BrowserPlayer(browser, f"{peer_url}/index.html", Path(workdir), reports_detector=False)
        if "load" in args.parts:
            first_visits([ours, peer] if args.with_mediapipe else [ours], browser, Path(workdir), args.visits)
        summary = report(ours, args, by_label, pipeline, settings)
        if args.with_mediapipe:
            peer_settings = replace(settings, threshold=args.mediapipe_threshold or settings.threshold)
            print(f"MediaPipe's Gesture Recognizer ({MODEL.name}), the same streams, the same hold-to-confirm "
                  f"(threshold {peer_settings.threshold})\n")
            peer_summary = report(peer, args, by_label, pipeline, peer_settings)
            print("\n".join(comparison_rows(summary, peer_summary)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
