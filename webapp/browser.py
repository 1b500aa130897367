"""What the browser tests and the browser benchmark share: the server in a subprocess, headless Chromium with
a fake camera that plays a clip of real photos (webapp.camera_clips), and a record of what the widget reports.

The camera is Chromium's own fake capture device reading a .y4m file, so the widget runs exactly as for a
participant (getUserMedia, its worker, onnxruntime-web); only the pictures are ours. Chromium opens that
file anew for every capture session, so one browser serves many clips: `FakeCameraBrowser.show` points
the camera at a clip before a page asks for it.

Debian's chromium is driven through Playwright's Python API (no browser downloads).
"""

from __future__ import annotations

import bisect
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from playwright.sync_api import BrowserContext, Page, Playwright, sync_playwright

from webapp.camera_clips import MARKER_BITS, MARKER_BLOCK, Clip

ROOT = Path(__file__).resolve().parents[1]

CHROMIUM_NAMES = ("chromium", "chromium-browser")
"""Debian and Ubuntu names of the system's Chromium; the Makefile's setup installs it."""

SYSTEM_TOOLS = ("ffmpeg",)
"""Besides Chromium: ffmpeg writes the clips."""

EVENT_RECORDER = """
(() => {
  // Every event the widget dispatches, every camera stream the page gets, and every video frame the widget grabs
  // (with the photo number the clip marked it with), timed by performance.now(): ms since navigation start.
  const recorded = window.__recorded = {events: [], streams: [], grabs: []};
  for (const type of ["gesture", "reaction", "statechange"]) {
    document.addEventListener(type, (event) => {
      if (event.target?.localName !== "gesture-reactions") return;
      recorded.events.push({type, detail: JSON.parse(JSON.stringify(event.detail ?? null)), at: performance.now()});
    }, true);
  }
  const media = navigator.mediaDevices;
  if (!media) return;
  const getUserMedia = media.getUserMedia.bind(media);
  media.getUserMedia = async (constraints) => {
    const stream = await getUserMedia(constraints);
    const track = stream.getVideoTracks()[0];
    recorded.streams.push({at: performance.now(), constraints, settings: track ? track.getSettings() : null});
    return stream;
  };
  const [bits, block] = [__MARKER_BITS__, __MARKER_BLOCK__];
  const strip = new OffscreenCanvas(bits * block, block).getContext("2d", {willReadFrequently: true});
  const photoNumber = (image) => {
    strip.drawImage(image, 0, 0, bits * block, block, 0, 0, bits * block, block);
    const pixels = strip.getImageData(0, 0, bits * block, block).data;
    let number = 0;
    for (let bit = 0; bit < bits; bit++) {
      if (pixels[((block >> 1) * bits * block + bit * block + (block >> 1)) * 4 + 1] > 64) number |= 1 << bit;
    }
    return number;
  };
  // the widget grabs each frame with createImageBitmap(video): the photo number is read from that very bitmap
  // (the video element itself may already show a newer frame) before the widget hands it to its worker
  const createImageBitmap = window.createImageBitmap;
  window.createImageBitmap = async function (source, ...rest) {
    const at = performance.now();
    const bitmap = await createImageBitmap.call(this, source, ...rest);
    if (source instanceof HTMLVideoElement) recorded.grabs.push({at, photo: photoNumber(bitmap)});
    return bitmap;
  };
})();
""".replace("__MARKER_BITS__", str(MARKER_BITS)).replace("__MARKER_BLOCK__", str(MARKER_BLOCK))


def find_chromium() -> str | None:
    """The system's Chromium executable, or None when it is not installed."""
    return next((path for name in CHROMIUM_NAMES if (path := shutil.which(name))), None)


def missing_system_tools() -> list[str]:
    """What the browser tests and benchmark need from the system and do not find (`make setup` installs it)."""
    return (["chromium"] if find_chromium() is None else []) + [t for t in SYSTEM_TOOLS if shutil.which(t) is None]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_server(timeout_s: float = 30.0) -> Iterator[str]:
    """`python -m webapp` on a free port, as a user starts it; yields its base URL and stops it afterwards."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile() as log:
        server = subprocess.Popen([sys.executable, "-m", "webapp", "--port", str(port)], cwd=ROOT,
                                  stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait_until_healthy(base_url, server, log, timeout_s)
            yield base_url
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def _wait_until_healthy(base_url: str, server: subprocess.Popen, log: IO[bytes], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"the server exited with {server.returncode}:\n"
                               f"{log.read().decode(errors='replace')[-3000:]}")
        try:
            with urllib.request.urlopen(f"{base_url}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError):
            pass
        time.sleep(0.2)
    raise TimeoutError(f"the server at {base_url} did not answer /healthz within {timeout_s:.0f} s")


class FakeCameraBrowser:
    """One headless Chromium whose camera plays whichever clip `show` last chose.

    Camera permission is per page (`new_page(camera_allowed=...)`): without the grant, headless Chromium
    refuses getUserMedia with NotAllowedError, as when a participant clicks "Block".
    """

    def __init__(self, playwright: Playwright, workdir: Path, executable: str) -> None:
        self.camera = workdir / "camera.y4m"
        self.browser = playwright.chromium.launch(
            executable_path=executable, headless=True,
            args=["--use-fake-device-for-media-stream", f"--use-file-for-fake-video-capture={self.camera}"])

    def show(self, clip: Clip) -> None:
        """The next camera stream a page opens plays `clip` (a symbolic link, swapped atomically)."""
        link = self.camera.with_suffix(".next")
        link.unlink(missing_ok=True)
        link.symlink_to(clip.path.resolve())
        os.replace(link, self.camera)

    def new_context(self, camera_allowed: bool = True) -> BrowserContext:
        context = self.browser.new_context(permissions=["camera"] if camera_allowed else [],
                                           viewport={"width": 1280, "height": 800})
        context.add_init_script(EVENT_RECORDER)
        return context

    def new_page(self, camera_allowed: bool = True) -> Page:
        """A page in a fresh context (its own cache and permissions) that records the widget's events."""
        return self.new_context(camera_allowed).new_page()

    def close(self) -> None:
        self.browser.close()


@contextmanager
def fake_camera_browser(workdir: Path) -> Iterator[FakeCameraBrowser]:
    """Headless Chromium with a fake camera; RuntimeError when Chromium is not installed."""
    executable = find_chromium()
    if executable is None:
        raise RuntimeError(f"Chromium not found (looked for {', '.join(CHROMIUM_NAMES)}); `make setup` installs it")
    with sync_playwright() as playwright:
        browser = FakeCameraBrowser(playwright, workdir, executable)
        try:
            yield browser
        finally:
            browser.close()


def recorded_events(page: Page, event_type: str | None = None) -> list[dict[str, Any]]:
    """The widget's events so far: {type, detail, at} with `at` in ms since navigation start."""
    return page.evaluate("type => window.__recorded.events.filter(e => type === null || e.type === type)", event_type)


def recorded_streams(page: Page) -> list[dict[str, Any]]:
    """Camera streams the page got: {at, constraints, settings}."""
    return page.evaluate("window.__recorded.streams")


def wait_for_event(page: Page, event_type: str, timeout_s: float, **detail: Any) -> dict[str, Any]:
    """The first recorded event of `event_type` whose detail has the given values, waiting for it if need be.

    Polled from here: Playwright's wait_for_function compiles its predicate in the page, which the pages'
    Content-Security-Policy (no 'unsafe-eval') rightly forbids.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        for event in recorded_events(page, event_type):
            if all(event["detail"].get(key) == value for key, value in detail.items()):
                return event
        if time.monotonic() > deadline:
            seen = [(e["type"], e["detail"].get("state") or e["detail"].get("gesture")) for e in recorded_events(page)]
            raise TimeoutError(f"no {event_type} event with {detail} within {timeout_s:.0f} s; "
                               f"events seen (last 20): {seen[-20:]}")
        page.wait_for_timeout(100)


def photos_shown(page: Page, timestamps: Sequence[float]) -> list[int]:
    """The number of the clip photo in the frame the widget grabbed at each of `timestamps` (a `gesture` or
    `reaction` event's detail.timestamp, taken just before the grab: the first grab from then on is its)."""
    grabs = page.evaluate("window.__recorded.grabs")
    times = [grab["at"] for grab in grabs]
    return [grabs[bisect.bisect_left(times, timestamp)]["photo"] for timestamp in timestamps]


def start_widget(page: Page) -> None:
    """Calls start() on the page's widget without waiting for it; the events tell how it went."""
    page.evaluate("document.querySelector('gesture-reactions').start().catch(() => {})")


def widget_text(page: Page) -> str:
    """Everything the widget shows as text (its open shadow root)."""
    return page.evaluate("document.querySelector('gesture-reactions').shadowRoot.textContent")
