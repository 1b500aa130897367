"""The widget in headless Chromium, fed real test photos through a fake camera: it reacts to each gesture and to
nothing else, labels frames as the Python pipeline does (which has its own accuracy evaluation), tells the
participant when the camera is blocked, and sends nothing anywhere but its own server.

Python is the reference step by step, not frame by frame. It looks for palms in the letterboxed frame and, only
when it finds none there, in all the square tiles at once; the browser (static/widget/pipeline.js) looks in one view per
frame, stays on a view while it finds palms there, and tracks a hand it found by its landmarks. So photos are
chosen by Python's decision in every view, the regions a browser detection adds are checked against Python's palms
in the same view, and a browser frame's hand boxes and label against Python's landmark model, classifier and
decision in the very regions the browser looked in.

One server and one browser serve the whole module; every test opens its own browser context.
"""

from __future__ import annotations

import math
import re
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Page, Request, WebSocket, expect

from runtime.classifier import read_metadata
from runtime.custom_gestures import decide_with_custom
from runtime.hand_landmarks import RegionOfInterest
from runtime.images import read_rgb
from runtime.paths import CLASSIFIER_INT8, HAND_LANDMARKS, ROOT, classifier_model
from runtime.settings import RaiseHandSettings, ReactionSettings
from tests.browser_harness import (
    FakeCameraBrowser,
    documented_host_page_csp,
    page_time_ms,
    photos_shown,
    recorded_events,
    recorded_streams,
    start_widget,
    wait_for_event,
    widget_text,
)
from tests.browser_reference import PythonReference, clearly_shown, request_origin
from tests.camera_clips import Clip, camera_view, write_clip
from tests.conftest import manifest_rows, with_raise_hand
from tests.test_custom_gestures import teach_v_sign
from training.gestures import GESTURES

ARTIFACTS = ROOT / "test-artifacts"
LOAD_TIMEOUT_S = 60
"""From page load to the widget's first reaction or state; generous because the machine may be busy."""

GESTURE_MARGIN_S = 0.5
"""Each gesture photo is shown this much longer than twice the widget's hold (its photos are read well enough to
fire within that, `clearly_shown`), so that one photo alone can fire."""

GESTURE_PHOTOS = 3
NONE_PHOTOS = 24
AGREEMENT_PHOTOS_PER_LABEL = 5
MIN_AGREEMENT = 0.9
BOX_TOLERANCE_PX = 3
"""Browser and Python hand boxes may differ by this much: the browser's frame went through its own YUV -> RGB."""
REGION_TOLERANCE = 0.1
"""... and the regions around palms by this share of their side (centre and side) or radians (rotation): weak
palms (from score 0.2) move with the frame's colour conversion (measured: 27 of 32 detections within 0.03, all but
one within 0.1). The same image gives the same regions to 1e-3 pixels (tests/test_widget_landmarks.py)."""
MAX_CLIP_LOOPS = 4
"""A test that needs a frame of every photo lets the fake camera loop its clip up to this many times: a slow
machine processes fewer frames of each photo, and may miss a short one on the first pass."""
MAX_MEDIAN_PROBABILITY_GAP = 0.02
"""Typical largest difference between the browser's and Python's class probabilities for the same hand box
(measured: a median of 0.004; single crops differ by up to 0.16, small hands most)."""


@pytest.fixture(scope="module")
def photos_by_label(data_dir: Path) -> dict[str, list[Path]]:
    """The test split's whole photos per label, sorted by path."""
    rows = sorted((r for r in manifest_rows(data_dir) if r["kind"] == "frame" and r["split"] == "test"),
                  key=lambda r: r["path"])
    return {label: [data_dir / r["path"] for r in rows if r["label"] == label] for label in (*GESTURES, "none")}


@pytest.fixture(scope="module")
def clips_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("clips")


@pytest.fixture(scope="module")
def reactions() -> ReactionSettings:
    """The widget's hold-to-confirm defaults, which the shipped classifier's metadata carries."""
    return read_metadata(classifier_model()).reactions


@pytest.fixture(scope="module")
def reference(reactions: ReactionSettings) -> PythonReference:
    return PythonReference(clearly_shown(reactions))


def open_running_widget(browser: FakeCameraBrowser, server: str, clip: Clip) -> Page:
    """The demo page with `clip` as its camera, its widget started and running on a stream of the clip's size."""
    browser.show(clip)
    page = browser.new_page()
    page.goto(server + "/")
    start_widget(page)
    wait_for_event(page, "statechange", LOAD_TIMEOUT_S, state="running")
    settings = recorded_streams(page)[0]["settings"]
    assert (settings["width"], settings["height"]) == clip.size, f"the camera stream was resized: {settings}"
    return page


def run_until_every_photo_processed(page: Page, clip: Clip) -> tuple[list[dict], list[int]]:
    """The `gesture` events' details and the photo each frame showed, once the widget has processed a frame of
    every photo in the clip or the clip has looped MAX_CLIP_LOOPS times: waiting on frames rather than on a fixed
    time, so that a busy machine gives fewer frames per photo instead of a failure."""
    page.wait_for_timeout(clip.duration * 1000)
    deadline = time.monotonic() + (MAX_CLIP_LOOPS - 1) * clip.duration
    while True:
        frames = [e["detail"] for e in recorded_events(page, "gesture")]
        shown = photos_shown(page, [frame["timestamp"] for frame in frames])
        if set(shown) == set(range(len(clip.images))) or time.monotonic() > deadline:
            return frames, shown
        page.wait_for_timeout(500)


def camera_reactions(page: Page, clip: Clip) -> list[tuple[str, str]]:
    """(gesture, photo file name) of each reaction the camera gave."""
    reactions = [e["detail"] for e in recorded_events(page, "reaction") if e["detail"]["source"] == "camera"]
    photos = photos_shown(page, [r["timestamp"] for r in reactions])
    return [(r["gesture"], clip.images[number].name) for r, number in zip(reactions, photos, strict=True)]


@pytest.mark.parametrize("gesture", GESTURES)
def test_reacts_to_the_gesture_shown_and_to_no_other(
        gesture: str, browser: FakeCameraBrowser, server: str, reference: PythonReference,
        reactions: ReactionSettings, photos_by_label: dict[str, list[Path]], clips_dir: Path) -> None:
    photos = reference.first_recognised(photos_by_label[gesture], gesture, GESTURE_PHOTOS)
    seconds_per_photo = 2 * reactions.hold_ms / 1000 + GESTURE_MARGIN_S
    clip = write_clip(photos, clips_dir / f"{gesture}.y4m", seconds_per_photo)
    page = open_running_widget(browser, server, clip)
    reaction = wait_for_event(page, "reaction", LOAD_TIMEOUT_S, gesture=gesture)["detail"]
    page.wait_for_timeout(clip.duration * 1000)  # the rest of the clip, and its start again
    assert reaction["source"] == "camera" and reaction["emoji"] and 0 <= reaction["confidence"] <= 1
    reactions = camera_reactions(page, clip)
    page.context.close()
    assert {g for g, _ in reactions} == {gesture}, reactions


def test_a_gesture_the_host_did_not_choose_never_fires(
        browser: FakeCameraBrowser, server: str, reference: PythonReference, reactions: ReactionSettings,
        photos_by_label: dict[str, list[Path]], clips_dir: Path) -> None:
    """With `gestures="dislike"`, thumbs up photos that fire on their own (the test above) fire nothing, thumbs down
    ones still fire, and the widget offers a button for thumbs down alone; the worker decides each frame among the
    chosen gestures, so no frame's `gesture` event names thumbs up."""
    photos = [*reference.first_recognised(photos_by_label["like"], "like", 2),
              *reference.first_recognised(photos_by_label["dislike"], "dislike", 1)]
    clip = write_clip(photos, clips_dir / "chosen.y4m", 2 * reactions.hold_ms / 1000 + GESTURE_MARGIN_S)
    browser.show(clip)
    page = browser.new_page()
    page.goto(server + "/")
    page.evaluate("document.querySelector('gesture-reactions').gestures = 'dislike'")
    start_widget(page)
    wait_for_event(page, "reaction", LOAD_TIMEOUT_S, gesture="dislike")
    page.wait_for_timeout(clip.duration * 1000)  # the thumbs up photos once more
    buttons = page.evaluate("[...document.querySelector('gesture-reactions').shadowRoot"
                            ".querySelectorAll('button.react')].map((b) => b.dataset.gesture)")
    fired = camera_reactions(page, clip)
    decided = {e["detail"]["gesture"] for e in recorded_events(page, "gesture")}
    page.context.close()
    assert {g for g, _ in fired} == {"dislike"}, fired
    assert buttons == ["dislike"]
    assert decided == {"dislike", "none"}, decided


def test_a_model_with_a_raise_hand_gesture_raises_and_lowers_the_hand(
        browser: FakeCameraBrowser, server: str, reference: PythonReference, photos_by_label: dict[str, list[Path]],
        clips_dir: Path, tmp_path: Path) -> None:
    """The shipped classifier with its OK sign relabelled raise hand (tests.conftest.with_raise_hand) served as the
    widget's classifier: an OK photo held raises the hand (no reaction), a `none` photo after it lowers it
    `lower_after_ms` later, and the widget's "Lower hand" button lowers it at once."""
    raise_hand = RaiseHandSettings()
    model = with_raise_hand(tmp_path)
    raised_s = 2 * raise_hand.hold_ms / 1000 + GESTURE_MARGIN_S
    photos = [*reference.first_recognised(photos_by_label["ok"], "ok", 1),
              *reference.first_recognised(photos_by_label["none"], "none", 1)]
    clip = write_clip(photos, clips_dir / "raise.y4m", raised_s + raise_hand.lower_after_ms / 1000 + 1.5)
    browser.show(clip)
    page = browser.new_page()
    page.context.route("**/models/classifier.int8.ort", lambda route: route.fulfill(
        body=model.with_suffix(".ort").read_bytes(), content_type="application/octet-stream"))
    page.goto(server + "/")
    start_widget(page)
    raised = wait_for_event(page, "raise-hand", LOAD_TIMEOUT_S)
    widget = "document.querySelector('gesture-reactions')"
    assert page.evaluate(f"{widget}.handRaised") is True
    assert page.locator("gesture-reactions .raised").is_visible()
    lowered = wait_for_event(page, "lower-hand", LOAD_TIMEOUT_S)
    assert (raised["detail"]["emoji"], lowered["detail"]["source"]) == ("✋", "camera")
    lowered_after = lowered["detail"]["timestamp"] - raised["detail"]["timestamp"]
    assert lowered_after >= raise_hand.lower_after_ms, lowered_after
    assert [photos_shown(page, [e["detail"]["timestamp"]])[0] for e in (raised, lowered)] == [0, 1]
    deadline = time.monotonic() + 2 * clip.duration  # the clip again: raised again
    while len(recorded_events(page, "raise-hand")) < 2 and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert page.evaluate(f"{widget}.handRaised") is True
    page.locator("gesture-reactions .lower-hand").click()
    assert page.evaluate(f"{widget}.handRaised") is False
    sources = [e["detail"]["source"] for e in recorded_events(page, "lower-hand")]
    buttons = page.evaluate(f"[...{widget}.shadowRoot.querySelectorAll('button.react')].map((b) => b.dataset.gesture)")
    fired = recorded_events(page, "reaction")
    page.context.close()
    assert sources == ["camera", "manual"] and fired == [] and buttons == ["like", "dislike"]


ISOLATION = {"Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Embedder-Policy": "require-corp"}

HOST_PAGE = """<!doctype html>
<title>A meeting app on another origin</title>
<script type="module" src="{widget}"></script>
<gesture-reactions enabled></gesture-reactions>"""


@contextmanager
def host_page(server: str, csp: str, isolated: bool) -> Iterator[str]:
    """A meeting app's page on another origin (localhost, where the widget's server is 127.0.0.1, on a port of its
    own) with `csp`, embedding the widget from the server with its one script tag, turned on: its URL."""
    body = HOST_PAGE.format(widget=f"{server}/static/gesture-reactions.js").encode()
    headers = {"Content-Type": "text/html", "Content-Security-Policy": csp, **(ISOLATION if isolated else {})}

    class HostPage(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), HostPage)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://localhost:{httpd.server_address[1]}/meeting"
    finally:
        httpd.shutdown()
        httpd.server_close()


def open_host_page(browser: FakeCameraBrowser, url: str) -> Page:
    page = browser.new_page()
    page.goto(url)
    return page


@pytest.mark.parametrize("isolated", [False, True], ids=["one thread", "cross-origin isolated"])
def test_a_host_page_on_another_origin_with_the_documented_csp_gets_reactions(
        isolated: bool, browser: FakeCameraBrowser, server: str, reference: PythonReference,
        reactions: ReactionSettings, photos_by_label: dict[str, list[Path]], clips_dir: Path) -> None:
    """The widget guide's Content-Security-Policy line, as a meeting app copies it: reactions, with two wasm threads
    where the host page is cross-origin isolated."""
    photos = reference.first_recognised(photos_by_label["like"], "like", 1)
    browser.show(write_clip(photos, clips_dir / "host-page.y4m", 2 * reactions.hold_ms / 1000 + GESTURE_MARGIN_S))
    with host_page(server, documented_host_page_csp(server), isolated) as url:
        page = open_host_page(browser, url)
        running = wait_for_event(page, "statechange", LOAD_TIMEOUT_S, state="running")["detail"]
        reaction = wait_for_event(page, "reaction", LOAD_TIMEOUT_S)["detail"]
        page.context.close()
    assert running["threads"] == (2 if isolated else 1)
    assert (reaction["gesture"], reaction["source"]) == ("like", "camera")


CSP_FAULTS = {
    "no wasm-unsafe-eval": ((" 'wasm-unsafe-eval'", ""), "add 'wasm-unsafe-eval' to its script-src"),
    "no blob: worker": (("blob:; connect-src", "; connect-src"), "its worker-src must allow"),
    "no connect-src": (("connect-src 'self' {server}", "connect-src 'self'"), "its connect-src must allow {server}"),
}


@pytest.mark.parametrize("fault", CSP_FAULTS)
def test_a_host_page_csp_that_blocks_the_widget_is_named_in_its_message(fault: str, browser: FakeCameraBrowser,
                                                                        server: str, clips_dir: Path) -> None:
    """The camera plays a plain grey picture: it works, so the error is the CSP's."""
    grey = clips_dir / "grey.png"
    Image.new("RGB", (640, 480), (128, 128, 128)).save(grey)
    browser.show(write_clip([grey], clips_dir / "grey.y4m", seconds_per_image=1.0))
    (old, new), words = CSP_FAULTS[fault]
    csp = documented_host_page_csp(server)
    assert old.format(server=server) in csp
    with host_page(server, csp.replace(old.format(server=server), new), isolated=False) as url:
        page = open_host_page(browser, url)
        error = wait_for_event(page, "error", LOAD_TIMEOUT_S)["detail"]
        text = widget_text(page)
        page.context.close()
    assert error["code"] == "model-load-failed" and words.format(server=server) in error["message"], error
    assert error["message"] in text


def test_no_reaction_to_other_hands(browser: FakeCameraBrowser, server: str, reference: PythonReference,
                                    photos_by_label: dict[str, list[Path]], clips_dir: Path) -> None:
    photos = reference.first_recognised(photos_by_label["none"], "none", NONE_PHOTOS)
    clip = write_clip(photos, clips_dir / "none.y4m", seconds_per_image=0.6)
    page = open_running_widget(browser, server, clip)
    _, shown = run_until_every_photo_processed(page, clip)
    processed = set(shown)
    reactions = camera_reactions(page, clip)
    page.context.close()
    assert len(processed) >= 0.9 * len(photos), f"the widget processed frames of only {len(processed)} photos"
    assert reactions == []


def same_boxes(found: list[list[int]], expected: list[tuple[int, int, int, int]]) -> bool:
    """The same hand boxes, in the same order, to within BOX_TOLERANCE_PX."""
    return len(found) == len(expected) and all(
        max(abs(a - b) for a, b in zip(box, reference, strict=True)) <= BOX_TOLERANCE_PX
        for box, reference in zip(found, expected, strict=True))


def region_gap(found: list[dict], expected: list[RegionOfInterest]) -> float:
    """How far apart two lists of regions around palms are, in the same order: the largest of their centres' and
    sides' differences (in region sides) and rotations' differences (in radians); infinite if they differ in
    number."""
    if len(found) != len(expected):
        return math.inf
    return max((max(max(abs(region["x"] - theirs.x), abs(region["y"] - theirs.y), abs(region["side"] - theirs.side))
                    / theirs.side, abs(math.remainder(region["rotation"] - theirs.rotation, 2 * math.pi)))
                for region, theirs in zip(found, expected, strict=True)), default=0.0)


def test_browser_frames_match_the_python_pipeline_step_by_step(
        browser: FakeCameraBrowser, server: str, reference: PythonReference,
        photos_by_label: dict[str, list[Path]], clips_dir: Path) -> None:
    """The JS port against Python on every processed frame: the regions a detection adds (palm detector, anchors,
    decoding, weighted NMS, MediaPipe's region around a palm) are the ones Python finds in one of the views; in
    the regions the browser looked in (tracked or new), Python's landmark model, landmark box, classifier and
    decision, after the hands it kept as they were, give the browser's hand boxes and label. Not every frame: a
    classifier probability near the gesture threshold (`min_gesture_score`) can tip either way."""
    photos = [photo for label in (*GESTURES, "none") for photo in photos_by_label[label][:AGREEMENT_PHOTOS_PER_LABEL]]
    views, frames_seen = reference.views(photos), camera_view(photos)
    clip = write_clip(photos, clips_dir / "agreement.y4m", seconds_per_image=0.7)
    page = open_running_widget(browser, server, clip)
    frames, shown = run_until_every_photo_processed(page, clip)
    page.context.close()
    assert set(shown) == set(range(len(photos))), "the browser processed no frame of some photos"
    other_regions, other_boxes, other_label, probability_gaps, tracked = [], [], [], [], 0
    hands_before = 0
    for frame, number in zip(frames, shown, strict=True):
        regions, still = frame["regions"], frame["hands"][:frame["still"]]
        if frame["detected"]:
            new = regions[hands_before - len(still):]  # the regions of the last frame's hands that moved come first
            gap = min(region_gap(new, view.regions[:len(new)]) for view in views[number]) if new else 0.0
            if gap > REGION_TOLERANCE:
                other_regions.append((photos[number].name, len(new), round(gap, 3)))
        tracked += not frame["detected"] and bool(regions or still)
        boxes = [hand["box"] for hand in frame["hands"]]
        python = reference.decision_in_regions(photos[number], frames_seen[number], regions, still)
        if not same_boxes(boxes, [hand.box for hand in python.hands]):
            other_boxes.append((photos[number].name, boxes, [hand.box for hand in python.hands]))
        if frame["gesture"] != python.label:
            other_label.append((photos[number].name, boxes, frame["gesture"], frame["confidence"], python.label))
        probability_gaps += [max(abs(hand["probabilities"][label] - p) for label, p in theirs.probabilities.items())
                             for hand, theirs in zip(frame["hands"], python.hands, strict=False)]
        hands_before = len(frame["hands"])
    detections = sum(frame["detected"] for frame in frames)
    assert tracked >= 0.3 * len(frames), f"only {tracked} of {len(frames)} frames tracked a hand"
    assert len(other_regions) <= (1 - MIN_AGREEMENT) * detections, f"regions unlike Python's: {other_regions}"
    assert len(other_boxes) <= (1 - MIN_AGREEMENT) * len(frames), other_boxes
    assert len(other_label) <= (1 - MIN_AGREEMENT) * len(frames), other_label
    assert statistics.median(probability_gaps) <= MAX_MEDIAN_PROBABILITY_GAP


def test_blocked_camera_shows_a_message(browser: FakeCameraBrowser, server: str,
                                        photos_by_label: dict[str, list[Path]], clips_dir: Path) -> None:
    browser.show(write_clip(photos_by_label["like"][:1], clips_dir / "blocked.y4m", seconds_per_image=1.0))
    page = browser.new_page(camera_allowed=False)
    page.goto(server + "/")
    start_widget(page)
    state = wait_for_event(page, "statechange", LOAD_TIMEOUT_S, state="permission-denied")["detail"]
    assert state["message"] and state["message"] in widget_text(page)
    assert recorded_events(page, "gesture") == [] and recorded_events(page, "reaction") == []
    page.context.close()


@dataclass
class NetworkLog:
    """What the pages asked of the network while the widget ran on `/` and `/embed`."""

    requests: list[Request]
    websockets: list[WebSocket]


@pytest.fixture(scope="module")
def running_pages(browser: FakeCameraBrowser, server: str, reference: PythonReference,
                  photos_by_label: dict[str, list[Path]], clips_dir: Path) -> NetworkLog:
    """`/?enabled=1` and `/embed` (started) each run until a 👍 reaction; screenshots of both in test-artifacts/."""
    photos = reference.first_recognised(photos_by_label["like"], "like", 1)
    browser.show(write_clip(photos, clips_dir / "pages.y4m", seconds_per_image=2.0))
    log = NetworkLog([], [])
    ARTIFACTS.mkdir(exist_ok=True)
    for path, name in (("/?enabled=1", "index"), ("/embed", "embed")):
        context = browser.new_context()
        context.on("request", lambda request: log.requests.append(request))
        page = context.new_page()
        page.on("websocket", lambda websocket: log.websockets.append(websocket))
        page.goto(server + path)
        if path == "/embed":
            start_widget(page)
        wait_for_event(page, "reaction", LOAD_TIMEOUT_S, gesture="like")
        page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=True)
        context.close()
    return log


def test_nothing_leaves_the_page_origin(running_pages: NetworkLog, server: str) -> None:
    requests = [(r.url, r.method, r.post_data_buffer) for r in running_pages.requests if not r.url.startswith("data:")]
    assert [url for url, _, _ in requests if request_origin(url) != request_origin(server)] == []
    assert [(url, method) for url, method, _ in requests if method != "GET"] == []
    assert [url for url, _, body in requests if body] == []
    assert running_pages.websockets == []
    # what only the worker fetches is among them: the worker's requests were recorded too
    fetched = {url.rsplit("/", 1)[-1] for url, _, _ in requests}
    assert {"palm_detection_lite.ort", "ort-wasm-simd-threaded.wasm"} <= fetched


def test_screenshots_of_the_running_pages(running_pages: NetworkLog) -> None:
    for name in ("index", "embed"):
        screenshot = ARTIFACTS / f"{name}.png"
        assert screenshot.read_bytes().startswith(b"\x89PNG") and screenshot.stat().st_size > 10_000, screenshot


def test_model_times_benchmark_runs_each_model_in_the_browser() -> None:
    """`python -m benchmarks.model_times`, which compared the landmark model's variants: one timed line per file,
    from onnxruntime-web running in a cross-origin isolated page (run as a user runs it: the benchmarks build on
    the tests' harness, not the other way round)."""
    files = [CLASSIFIER_INT8, HAND_LANDMARKS]
    result = subprocess.run([sys.executable, "-m", "benchmarks.model_times", *files, "--runs", "3"], cwd=ROOT,
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "2 thread(s) (cross-origin isolated: True)" in lines[0]
    times = {line.split()[0]: float(line.split()[1]) for line in lines[1:]}
    assert set(times) == set(files) and all(ms > 0 for ms in times.values())


TEACH_S = 2.0
"""How long the taught gesture is shown in the browser test: enough frames on a busy machine, short of the default."""


@pytest.fixture(scope="module")
def taught_in_python(data_dir: Path, reference: PythonReference) -> tuple[Path, list[Path], list[Path]]:
    """A V sign taught in Python from one person's training photo (as tests/test_custom_gestures.py teaches it): that
    photo, the three test photos of other people's V signs it is most confident on, and three test photos of a fist
    or a call it leaves as none."""
    pipeline = reference.pipeline
    settings = pipeline.landmarker.metadata.custom_gestures
    rows = manifest_rows(data_dir)
    minimum = pipeline.settings.min_gesture_score

    def hands(row: dict[str, str]) -> list:
        return pipeline.hands(read_rgb(data_dir / row["path"]))

    peace = ((r["path"], read_rgb(data_dir / r["path"]), hands(r)) for r in rows
             if r["kind"] == "frame" and r["split"] == "train" and r["source_class"] == "peace")
    teacher, gesture, _ = teach_v_sign(pipeline, peace)
    test = [r for r in rows if r["kind"] == "frame" and r["split"] == "test"]

    def confidence(row: dict[str, str]) -> float:
        decided = decide_with_custom(pipeline.decide(hands(row)), [gesture], pipeline.gestures, minimum, settings,
                                     pipeline.landmarker.metadata.pose_encoder)
        return decided.score if decided.label == "v-sign" else 0.0

    chosen = sorted(((confidence(r), r["path"]) for r in test if r["source_class"] == "peace"), reverse=True)[:3]
    assert chosen[-1][0] >= 0.85, chosen
    others = [r["path"] for r in test if r["source_class"] in ("fist", "call") and confidence(r) == 0.0][:3]
    return data_dir / teacher, [data_dir / path for _, path in chosen], [data_dir / path for path in others]


def test_a_gesture_taught_in_the_browser_fires_for_other_people_until_forgotten(
        browser: FakeCameraBrowser, server: str, reference: PythonReference, photos_by_label: dict[str, list[Path]],
        taught_in_python: tuple[Path, list[Path], list[Path]], clips_dir: Path, tmp_path: Path) -> None:
    """One person's V sign held before the camera is taught (`learnGesture`); a clip of three other people's V signs
    then fires it, with its emoji, and a clip of fists and calls does not; forgotten, it fires no more. Teaching is
    refused with no hand in view, on a thumbs up (one of the model's gestures) and under a name already taken; the
    page asks nothing of the network but GETs to its own server."""
    teacher, others, nones = taught_in_python
    blank = tmp_path / "blank.png"
    Image.new("RGB", (640, 480), (128, 128, 128)).save(blank)
    like = reference.first_recognised(photos_by_label["like"], "like", 1)
    clip = {name: write_clip(photos, clips_dir / f"teach-{name}.y4m", seconds)
            for name, photos, seconds in (("teacher", [teacher], 1.0), ("blank", [blank], 1.0), ("like", like, 1.0),
                                          ("others", [*others, *nones], 2.0))}
    requests: list[Request] = []
    browser.show(clip["teacher"])
    page = browser.new_page()
    page.context.on("request", lambda request: requests.append(request))
    page.goto(server + "/")
    start_widget(page)
    wait_for_event(page, "statechange", LOAD_TIMEOUT_S, state="running")
    widget = "document.querySelector('gesture-reactions')"

    def teach(name: str) -> dict:
        return page.evaluate(f"""(name) => {widget}.learnGesture(name, {{emoji: '✌️', seconds: {TEACH_S}}})
            .then((learned) => ({{learned}}), (error) => ({{code: error.code, message: error.message}}))""", name)

    def play(name: str) -> None:
        page.evaluate(f"{widget}.stop()")
        browser.show(clip[name])
        start_widget(page)
        wait_for_event(page, "statechange", LOAD_TIMEOUT_S, state="running")
        page.wait_for_timeout(500)

    page.fill("#teach-name", "v-sign")  # the demo page's form: the element's own teaching UI, the default time
    page.fill("#teach-emoji", "✌️")
    page.click("#teach button[type=submit]")
    expect(page.locator("#teach-result")).to_have_text(re.compile("^Learned"), timeout=LOAD_TIMEOUT_S * 1000)
    learned_text = widget_text(page)
    assert page.evaluate(f"{widget}.customGestures") == [{"name": "v-sign", "emoji": "✌️"}]
    assert recorded_events(page, "learning")[-1]["detail"] == {"name": "v-sign", "progress": 1}
    refusals = {"name-taken": teach("v-sign")}
    play("blank")
    refusals["no-hand"] = teach("nothing")
    play("like")
    refusals["built-in"] = teach("thumb")
    assert {code: refusal["code"] for code, refusal in refusals.items()} == {code: code for code in refusals}
    assert "thumbs up" in refusals["built-in"]["message"]
    assert "Learned “v-sign”" in learned_text

    play("others")
    started = page_time_ms(page)
    fired = wait_for_event(page, "reaction", 3 * clip["others"].duration, gesture="v-sign")
    assert fired["detail"]["emoji"] == "✌️"
    page.wait_for_timeout(clip["others"].duration * 1000)  # every photo once more
    reactions = [e for e in recorded_events(page, "reaction") if e["at"] > started]
    shown = photos_shown(page, [e["detail"]["timestamp"] for e in reactions])
    assert {e["detail"]["gesture"] for e in reactions} == {"v-sign"}
    assert all(number < len(others) for number in shown), f"fired on photos {shown}: the last {len(nones)} are none"
    assert page.evaluate(f"{widget}.forgetGesture('v-sign')") is True
    forgotten = page_time_ms(page)
    page.wait_for_timeout(1.5 * clip["others"].duration * 1000)
    after = [e for e in recorded_events(page, "reaction") if e["at"] > forgotten]
    stored = page.evaluate("localStorage.getItem('gesture-reactions:taught-gestures')")
    page.context.close()
    assert after == [] and stored is None
    sent = [(r.url, r.method, r.post_data_buffer) for r in requests if not r.url.startswith("data:")]
    assert [(url, method) for url, method, body in sent
            if request_origin(url) != request_origin(server) or method != "GET" or body] == []
