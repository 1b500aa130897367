"""CPU latency of the whole pipeline per frame, in Python with onnxruntime on one thread (median and 95th
percentile, per model): a frame the palm detector runs on, and two tracked frames that need no detector (the
hands moved, then held still). The browser's own figures come from `python -m benchmarks.browser`.

    python -m export.pipeline_benchmark [--frames 200] [--split test]
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

from runtime.classifier import OnnxClassifier
from runtime.images import read_rgb
from runtime.paths import classifier_model, data_dir, landmark_model, palm_model
from runtime.pipeline import GesturePipeline
from runtime.tracking import HandTracker
from training.datasets import load_samples

WARM_UP = 5
MOVE_PX = 4
"""How far a tracked frame's hands move: well over `still_change` (docs/decisions.md#still-hand-threshold)."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=data_dir())
    p.add_argument("--split", choices=("train", "test"), default="test")
    p.add_argument("--frames", type=int, default=200, help="frames timed (every n-th of the split, all labels)")
    p.add_argument("--classifier", type=Path, default=classifier_model())
    p.add_argument("--palm", type=Path, default=palm_model())
    p.add_argument("--landmarks", type=Path, default=landmark_model(), help="hand landmark model ONNX")
    p.add_argument("--threads", type=int, default=1)
    return p.parse_args(argv)


class Timed:
    """An onnxruntime session that adds up the time its runs take: the pipeline decides itself which models run
    on a frame (the tiles when the letterboxed frame has no hand), and this counts what it ran."""

    def __init__(self, session: ort.InferenceSession) -> None:
        self.session = session
        self.seconds = 0.0

    def run(self, outputs: list[str] | None, feeds: dict[str, np.ndarray]) -> list:
        started = time.perf_counter()
        try:
            return self.session.run(outputs, feeds)
        finally:
            self.seconds += time.perf_counter() - started

    def __getattr__(self, name: str) -> object:
        return getattr(self.session, name)


def time_frames(pipeline: GesturePipeline, images: list[np.ndarray]) -> dict[str, np.ndarray]:
    """Milliseconds per frame in each model and in the whole of a detected frame (`GesturePipeline`), and in two
    tracked frames that run no palm detector: the hands moved, then held still."""
    timers = {"palm detector": Timed(pipeline.palm), "hand landmarks": Timed(pipeline.landmarker.session),
              "classifier": Timed(pipeline.classifier.session)}
    pipeline.palm, pipeline.landmarker.session, pipeline.classifier.session = timers.values()
    tracked = ("tracked frame, moved", "tracked frame, still")
    parts: dict[str, list[float]] = {name: [] for name in (*timers, "detected frame", *tracked)}
    for image in images:
        for timer in timers.values():
            timer.seconds = 0.0
        started = time.perf_counter()
        pipeline(image)
        parts["detected frame"].append(1000 * (time.perf_counter() - started))
        for name, timer in timers.items():
            parts[name].append(1000 * timer.seconds)
        tracker = HandTracker(pipeline)
        if tracker(image, 0.0).prediction.hands:
            moved = shifted(image, MOVE_PX)
            for name, frame, time_ms in zip(tracked, (moved, moved), (1.0, 2.0), strict=True):
                started = time.perf_counter()
                tracker(frame, time_ms)  # well within redetect_ms: no palm detector
                parts[name].append(1000 * (time.perf_counter() - started))
    return {name: np.asarray(ms) for name, ms in parts.items()}


def shifted(image: np.ndarray, pixels: int) -> np.ndarray:
    """The frame moved right by `pixels`, its left edge repeated: the same hands, a few pixels on."""
    return np.concatenate([np.repeat(image[:, :1], pixels, axis=1), image[:, :-pixels]], axis=1)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    samples = load_samples(args.data, args.split, "frame")
    if not samples:
        raise SystemExit(f"{args.data}: no frames in split {args.split!r}")
    samples = samples[:: max(1, len(samples) // args.frames)][:args.frames]
    images = [read_rgb(s.path) for s in samples]
    # timed with onnxruntime's fused int8 kernels, as a deployment would run it (accuracy is measured without)
    classifier = OnnxClassifier(args.classifier, threads=args.threads, optimize=True)
    pipeline = GesturePipeline(args.palm, args.landmarks, classifier, threads=args.threads)
    time_frames(pipeline, images[:WARM_UP])
    timings = time_frames(pipeline, images)
    machine = platform.processor() or platform.machine()
    print(f"{len(images)} {args.split} frames, onnxruntime {args.threads} thread(s), {machine}")
    print(f"{'':24} {'median ms':>10} {'p95 ms':>8}")
    for name, ms in timings.items():
        print(f"{name:24} {np.median(ms):10.1f} {np.percentile(ms, 95):8.1f}  ({len(ms)} frames)")


if __name__ == "__main__":
    main()
