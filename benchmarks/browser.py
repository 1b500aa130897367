"""What a participant's browser pays for the widget, in headless Chromium with its default options: per-frame time
in the worker by what ran, load to first prediction (first and return visit), download bytes, false reactions on
the `none` photos streamed, and the reactions that photos held still fire (`--parts`).

    python -m benchmarks.browser [--json PATH]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import statistics
import sys
import tempfile
from collections import Counter
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, Request

from runtime.classifier import read_metadata
from runtime.paths import classifier_model, data_dir
from runtime.settings import ReactionSettings
from tests.browser_harness import (
    FakeCameraBrowser,
    cross_origin_isolated,
    fake_camera_browser,
    missing_system_tools,
    page_time_ms,
    photos_shown,
    recorded_events,
    wait_for_event,
)
from tests.camera_clips import FPS, Clip, write_clip
from tests.server_process import running_server

LOAD_TIMEOUT_S = 120
HOLD_SECONDS = 1.5
GAP_SECONDS = 0.2
"""Black between held `none` photos; between gesture photos the widget's cooldown comes on top (`held_gap`)."""
HELD_PHOTOS_PER_CLIP = 100
"""Held photos per camera clip: a clip frame is 460 KB of raw video, so 100 gesture photos make 2.4 GB."""
RUNTIME_AND_MODELS = ("/static/ort/", "/static/models/")
PARTS = ("load", "stream", "held")
"""URL paths of what the widget downloads besides its own code: onnxruntime-web and the two ONNX models."""


@dataclass(frozen=True)
class Download:
    """One request's response: its body as Chromium counted it over the wire (compressed when the server
    compressed it; 0 when its cache answered, and for a worker's own script, which it does not count), as the
    server declared it (Content-Length), and as the page got it."""

    path: str
    status: int
    content_encoding: str
    wire_bytes: int
    content_length: int | None
    body_bytes: int


@dataclass(frozen=True)
class LoadFigures:
    first_visit_ms: list[float]
    return_visit_ms: float
    threads: int
    cross_origin_isolated: bool
    downloads: list[Download]


@dataclass(frozen=True)
class FrameTimes:
    """The worker's timings of each processed frame, as the `gesture` events report them."""

    total_ms: list[float]
    palm_ms: list[float]
    landmarks_ms: list[float]
    classifier_ms: list[float]
    detected: list[bool]
    """Whether the palm detector ran on the frame."""
    looked: list[bool]
    """Whether the landmark model ran on the frame (a new palm, or a tracked hand that moved); a frame on which
    neither ran kept its still hands as they were, or passed over an unchanged view."""

    @classmethod
    def of(cls, gestures: list[dict]) -> FrameTimes:
        return cls([g["timings"]["total"] for g in gestures], [g["timings"]["palm"] for g in gestures],
                   [g["timings"]["landmarks"] for g in gestures], [g["timings"]["classifier"] for g in gestures],
                   [g["detected"] for g in gestures], [bool(g["regions"]) for g in gestures])

    def __add__(self, other: FrameTimes) -> FrameTimes:
        return FrameTimes(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))


@dataclass(frozen=True)
class StreamFigures:
    photos: int
    seconds_per_photo: float
    frames_processed: int
    frames_per_gesture: dict[str, int]
    false_reactions: list[dict[str, Any]]
    """gesture, confidence and the photo shown when it fired."""
    frames: FrameTimes


@dataclass(frozen=True)
class HeldFigures:
    seconds_per_photo: float
    gap_seconds: dict[str, float]
    """Per label shown: the black between its photos."""
    photos: dict[str, int]
    """Photos held, per label shown."""
    reactions: dict[str, dict[str, int]]
    """Per label shown: how many of its photos fired each reaction."""
    wrong: list[dict[str, str]]
    """Each photo that fired a reaction other than its own label's (any, for a `none` photo): its label, the
    reaction and the photo's file name."""
    frames: FrameTimes
    """Every frame processed while the photos were held, all labels."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=data_dir(), help="the shared gesture data (manifest.csv, frames/)")
    p.add_argument("--json", type=Path, help="also write the figures here")
    p.add_argument("--frames-per-photo", type=int, default=2, help=f"frames each none photo is held, at {FPS} fps")
    p.add_argument("--limit", type=int, help="play only the first N none photos (a quick try, not the benchmark)")
    p.add_argument("--first-visits", type=int, default=3, help="fresh-context loads to take the median of")
    p.add_argument("--held-none", type=int, default=200,
                   help="none photos held still, spread over all of them (0: all)")
    p.add_argument("--held-gestures", type=int, help="gesture photos held still (default: all)")
    p.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS),
                   help="what to measure: page loads and download, the none stream, the held poses (default: all)")
    return p.parse_args(argv)


def frame_photos(data: Path, label: str) -> list[Path]:
    """Every whole photo labelled `label`, all splits, sorted by path (the webcam sequences stay in order)."""
    with (data / "manifest.csv").open(newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["kind"] == "frame" and r["label"] == label]
    return sorted(data / r["path"] for r in rows)


def spread(items: list[Path], count: int | None) -> list[Path]:
    """`count` of `items`, evenly spaced (all of them when count is None or larger)."""
    if count is None or count >= len(items):
        return items
    return [items[i * len(items) // count] for i in range(count)]


def first_prediction_ms(page: Page, path: str) -> float:
    """Opens `path` and waits for the widget's first prediction; its time since navigation start."""
    page.goto(path)
    return wait_for_event(page, "gesture", LOAD_TIMEOUT_S)["at"]


def downloads(requests: list[Request], base_url: str) -> list[Download]:
    out = []
    for request in requests:
        response = request.response()
        if response is None or not request.url.startswith(base_url):
            continue
        length = response.headers.get("content-length")
        out.append(Download(request.url.removeprefix(base_url), response.status,
                            response.headers.get("content-encoding", ""), request.sizes()["responseBodySize"],
                            int(length) if length else None, len(response.body())))
    return out


def measure_load(browser: FakeCameraBrowser, base_url: str, first_visits: int) -> LoadFigures:
    """Fresh contexts have an empty cache: first visits. The first one also records the downloads, then reloads
    the page (a return visit, from the cache)."""
    url = f"{base_url}/?enabled=1"
    context, requests = browser.new_context(), []
    context.on("requestfinished", lambda request: requests.append(request))
    page = context.new_page()
    first_visit_ms = [first_prediction_ms(page, url)]
    running = wait_for_event(page, "statechange", LOAD_TIMEOUT_S, state="running")["detail"]
    isolated = cross_origin_isolated(page)
    files = downloads(requests, base_url)
    return_visit_ms = first_prediction_ms(page, url)
    context.close()
    for _ in range(first_visits - 1):
        context = browser.new_context()
        first_visit_ms.append(first_prediction_ms(context.new_page(), url))
        context.close()
    return LoadFigures(first_visit_ms, return_visit_ms, running["threads"], isolated, files)


def play_clip(browser: FakeCameraBrowser, base_url: str, clip: Clip) -> tuple[list[dict], list[tuple[dict, int]]]:
    """The widget's events over one pass of `clip`, from the first prediction (the clip loops, so the photos shown
    while the models loaded come round again at its end), and each camera reaction's detail with the number of
    the clip photo it fired on."""
    context = browser.new_context()
    page = context.new_page()
    start = first_prediction_ms(page, f"{base_url}/?enabled=1")
    end = start + clip.duration * 1000
    while (left := end - page_time_ms(page)) > 0:
        page.wait_for_timeout(min(10_000, left + 100))
    events = [e for e in recorded_events(page) if start <= e["at"] < end]
    reactions = [e["detail"] for e in events if e["type"] == "reaction" and e["detail"]["source"] == "camera"]
    photos = photos_shown(page, [r["timestamp"] for r in reactions])
    context.close()
    return events, list(zip(reactions, photos, strict=True))


def measure_stream(browser: FakeCameraBrowser, base_url: str, clip: Clip) -> StreamFigures:
    """The per-frame figures and false reactions of one pass over `clip`."""
    events, reactions = play_clip(browser, base_url, clip)
    gestures = [e["detail"] for e in events if e["type"] == "gesture"]
    return StreamFigures(
        photos=len(clip.images), seconds_per_photo=clip.seconds_per_image, frames_processed=len(gestures),
        frames_per_gesture=dict(Counter(g["gesture"] for g in gestures if g["gesture"] != "none")),
        false_reactions=[{"gesture": r["gesture"], "confidence": r["confidence"], "photo": clip.images[n].name}
                         for r, n in reactions],
        frames=FrameTimes.of(gestures))


def held_gap(label: str, reactions: ReactionSettings) -> float:
    """Seconds of black after each held photo of `label`: after a gesture photo, the cooldown too, so that each photo
    can fire as a participant's next reaction would (else the figure would measure the cooldown)."""
    return GAP_SECONDS + (reactions.cooldown_ms / 1000 if label != "none" else 0.0)


def measure_held(browser: FakeCameraBrowser, base_url: str, workdir: Path, photos: dict[str, list[Path]],
                 reactions: ReactionSettings) -> HeldFigures:
    """Each label's photos held still in a clip of their own; per label, the photos that fired each reaction."""
    counts: dict[str, dict[str, int]] = {}
    wrong: list[dict[str, str]] = []
    frames = FrameTimes.of([])
    for label, paths in photos.items():
        fired: Counter[str] = Counter()
        for start in range(0, len(paths), HELD_PHOTOS_PER_CLIP):
            part = paths[start:start + HELD_PHOTOS_PER_CLIP]
            print(f"holding {label} photos {start + 1}-{start + len(part)} of {len(paths)} ...", file=sys.stderr)
            clip = write_clip(part, workdir / "held.y4m", HOLD_SECONDS, gap_seconds=held_gap(label, reactions))
            browser.show(clip)
            events, camera_reactions = play_clip(browser, base_url, clip)
            per_photo = {(r["gesture"], n) for r, n in camera_reactions}  # each reaction once per photo
            fired.update(gesture for gesture, _ in per_photo)
            wrong += [{"label": label, "reaction": gesture, "photo": clip.images[n].name}
                      for gesture, n in sorted(per_photo, key=lambda fire: fire[1]) if gesture != label]
            frames += FrameTimes.of([e["detail"] for e in events if e["type"] == "gesture"])
            clip.path.unlink()
        counts[label] = dict(fired)
    return HeldFigures(HOLD_SECONDS, {label: held_gap(label, reactions) for label in photos},
                       {label: len(paths) for label, paths in photos.items()}, counts, wrong, frames)


def percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def medians(frames: FrameTimes, chosen: list[bool]) -> str:
    """How many of the frames are `chosen`, and their median total, palm detector, landmark model and classifier
    times."""
    timings = [t for t, keep in zip(zip(frames.total_ms, frames.palm_ms, frames.landmarks_ms, frames.classifier_ms,
                                        strict=True), chosen, strict=True) if keep]
    if not timings:
        return f"0 of {len(chosen)}"
    total, palm, landmarks, classifier = (statistics.median(column) for column in zip(*timings, strict=True))
    return (f"{len(timings)} of {len(chosen)}: median {total:.1f} ms (palm detector {palm:.1f}, hand landmarks "
            f"{landmarks:.1f}, classifier {classifier:.1f})")


def frame_rows(name: str, frames: FrameTimes) -> list[str]:
    """Per-frame time over a stream, and apart for the frames that ran each model."""
    if not frames.total_ms:
        return []
    landmarks_only = [looked and not detected for looked, detected in zip(frames.looked, frames.detected, strict=True)]
    no_model = [not looked and not detected for looked, detected in zip(frames.looked, frames.detected, strict=True)]
    return [
        f"| {name}: per-frame time, median | {statistics.median(frames.total_ms):.1f} ms |",
        f"| {name}: per-frame time, p95 | {percentile(frames.total_ms, 95):.1f} ms |",
        f"| {name}: frames that ran the palm detector | {medians(frames, frames.detected)} |",
        f"| {name}: frames that ran the landmark model, not the detector | {medians(frames, landmarks_only)} |",
        f"| {name}: frames that ran no model (hands still, views unchanged) | {medians(frames, no_model)} |",
    ]


def held_rows(held: HeldFigures) -> list[str]:
    """A table row per label shown: photos, and those that fired each reaction."""
    rows = []
    for label, count in held.photos.items():
        fired = held.reactions.get(label, {})
        right = fired.get(label, 0) if label != "none" else count - sum(fired.values())
        rows.append(f"| held {held.seconds_per_photo} s + {held.gap_seconds[label]:.1f} s gap: {label} | "
                    f"{count} photos, "
                    f"{'fired ' + label if label != 'none' else 'fired nothing'}: {right} "
                    f"({100 * right / max(count, 1):.0f}%); reactions per gesture {fired} |")
    rows += [f"| held {fire['label']} photo that fired {fire['reaction']} | {fire['photo']} |" for fire in held.wrong]
    return rows


def cpu_name() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    names = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
             if line.startswith("model name")] if cpuinfo.is_file() else []
    return f"{os.cpu_count()} x {names[0] if names else platform.processor() or platform.machine()}"


def mb(n: float) -> str:
    return f"{n / 1e6:.2f} MB"


def load_rows(load: LoadFigures) -> list[str]:
    runtime = [d for d in load.downloads if d.path.startswith(RUNTIME_AND_MODELS)]
    uncompressed = {d.path: d.body_bytes for d in runtime}  # a file fetched twice (cached the second time) once
    return [
        f"| load to first prediction, first visit | {statistics.median(load.first_visit_ms):.0f} ms (median of "
        f"{', '.join(f'{t:.0f}' for t in load.first_visit_ms)}) |",
        f"| load to first prediction, return visit | {load.return_visit_ms:.0f} ms |",
        f"| download, models + runtime | {mb(sum(d.wire_bytes for d in runtime))} over the wire "
        f"({mb(sum(uncompressed.values()))} uncompressed) |",
        f"| download, whole page | {mb(sum(d.wire_bytes for d in load.downloads))} over the wire |",
    ]


def stream_rows(stream: StreamFigures) -> list[str]:
    return [
        *frame_rows("none stream", stream.frames),
        f"| none photos played | {stream.photos}, {stream.seconds_per_photo * 1000:.0f} ms each |",
        f"| frames processed | {stream.frames_processed} |",
        f"| frames labelled a gesture | {sum(stream.frames_per_gesture.values())} {stream.frames_per_gesture} |",
        f"| false reactions | {len(stream.false_reactions)} "
        f"{dict(Counter(r['gesture'] for r in stream.false_reactions))} |",
        *(f"| false reaction | {r['gesture']} {r['confidence']:.2f} on {r['photo']} |" for r in stream.false_reactions),
    ]


def report(load: LoadFigures | None, stream: StreamFigures | None, held: HeldFigures | None,
           reactions: ReactionSettings, browser_version: str, load_average: float) -> str:
    lines = [
        f"headless Chromium {browser_version} on {cpu_name()}"
        + (f"; wasm threads: {load.threads} (cross-origin isolated: {load.cross_origin_isolated})" if load else "")
        + f"; widget defaults (threshold {reactions.threshold}, hold {reactions.hold_ms:.0f} ms, cooldown "
        f"{reactions.cooldown_ms:.0f} ms); load average {load_average:.1f} when it started",
        "",
        "| figure | value |",
        "|---|---|",
        *(stream_rows(stream) if stream else []),
        *(load_rows(load) if load else []),
        *(held_rows(held) + frame_rows("held poses", held.frames) if held else []),
    ]
    if load:
        lines += [
            "",
            "| file | status | encoding | over the wire (bytes) | Content-Length | uncompressed (bytes) |",
            "|---|---|---|---|---|---|",
            *(f"| {d.path} | {d.status} | {d.content_encoding or '-'} | {d.wire_bytes:,} | "
              f"{'-' if d.content_length is None else f'{d.content_length:,}'} | {d.body_bytes:,} |"
              for d in load.downloads),
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if missing := missing_system_tools():
        print(f"not installed: {', '.join(missing)} (`make setup` installs them)", file=sys.stderr)
        return 2
    photos = frame_photos(args.data, "none")[:args.limit]
    classifier = read_metadata(classifier_model())
    held_photos = {"none": spread(frame_photos(args.data, "none"), args.held_none or None),
                   **{g: spread(frame_photos(args.data, g), args.held_gestures) for g in classifier.default_gestures}}
    reactions = classifier.reactions  # what the widget's hold-to-confirm runs with
    load_average = os.getloadavg()[0]  # other work on the machine slows every figure
    load = stream = held = None
    with (tempfile.TemporaryDirectory() as workdir, running_server() as server,
          fake_camera_browser(Path(workdir)) as browser):
        if {"load", "stream"} & set(args.parts):
            print(f"writing a clip of {len(photos)} none photos ...", file=sys.stderr)
            clip = write_clip(photos, Path(workdir) / "none.y4m", args.frames_per_photo / FPS)
            browser.show(clip)
            if "load" in args.parts:
                print("measuring page loads ...", file=sys.stderr)
                load = measure_load(browser, server.url, args.first_visits)
            if "stream" in args.parts:
                print(f"playing the clip ({clip.duration:.0f} s) ...", file=sys.stderr)
                stream = measure_stream(browser, server.url, clip)
            clip.path.unlink()
        if "held" in args.parts:
            held = measure_held(browser, server.url, Path(workdir), held_photos, reactions)
        version = browser.browser.version
    print(report(load, stream, held, reactions, version, load_average))
    if args.json:
        args.json.write_text(json.dumps({"browser": version, "cpu": cpu_name(), "load_average": load_average,
                                         "reactions": asdict(reactions), "load": load and asdict(load),
                                         "stream": stream and asdict(stream), "held": held and asdict(held)},
                                        indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
