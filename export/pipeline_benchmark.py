"""CPU latency of the whole pipeline per frame, in Python with onnxruntime on one thread.

    python -m export.pipeline_benchmark [--frames 200] [--split test]

Times palm detection (with the tiled retry when the letterboxed frame has no palm), hand boxes,
the int8 classifier (with onnxruntime's graph optimizations on) and the decision, on real whole
frames, after a warm-up; prints the median and 95th percentile of each part. The browser's own
figures come from `python -m benchmarks.browser`.
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import numpy as np

from runtime.classifier import OnnxClassifier
from runtime.images import read_rgb
from runtime.paths import classifier_model, data_dir, palm_model
from runtime.pipeline import GesturePipeline
from training.datasets import load_samples

WARM_UP = 5


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=data_dir())
    p.add_argument("--split", choices=("train", "test"), default="test")
    p.add_argument("--frames", type=int, default=200, help="frames timed (every n-th of the split, all labels)")
    p.add_argument("--classifier", type=Path, default=classifier_model())
    p.add_argument("--palm", type=Path, default=palm_model())
    p.add_argument("--threads", type=int, default=1)
    return p.parse_args(argv)


def time_frames(pipeline: GesturePipeline, images: list[np.ndarray]) -> dict[str, np.ndarray]:
    """Milliseconds per frame for palm detection, classification (crop, resize, classifier) and the whole."""
    palm_ms, classify_ms = [], []
    for image in images:
        started = time.perf_counter()
        palms = pipeline.palms(image)
        found = time.perf_counter()
        pipeline.decide(pipeline.classify(image, palms))
        palm_ms.append(1000 * (found - started))
        classify_ms.append(1000 * (time.perf_counter() - found))
    palm, classify = np.asarray(palm_ms), np.asarray(classify_ms)
    return {"palm detection": palm, "hand boxes + classifier": classify, "whole pipeline": palm + classify}


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    samples = load_samples(args.data, args.split, "frame")
    if not samples:
        raise SystemExit(f"{args.data}: no frames in split {args.split!r}")
    samples = samples[:: max(1, len(samples) // args.frames)][:args.frames]
    images = [read_rgb(s.path) for s in samples]
    # timed with onnxruntime's fused int8 kernels, as a deployment would run it (accuracy is measured without)
    classifier = OnnxClassifier(args.classifier, threads=args.threads, optimize=True)
    pipeline = GesturePipeline(args.palm, classifier, threads=args.threads)
    time_frames(pipeline, images[:WARM_UP])
    timings = time_frames(pipeline, images)
    machine = platform.processor() or platform.machine()
    print(f"{len(images)} {args.split} frames, onnxruntime {args.threads} thread(s), {machine}")
    print(f"{'':24} {'median ms':>10} {'p95 ms':>8}")
    for name, ms in timings.items():
        print(f"{name:24} {np.median(ms):10.1f} {np.percentile(ms, 95):8.1f}")


if __name__ == "__main__":
    main()
