"""What the browser tests and the browser benchmark share besides the server (tests.server_process): headless
Chromium with a fake camera that plays a clip of real photos (tests.camera_clips), and a record of what the widget
reports (tests/browser/*.js, the scripts it runs in the pages).

The camera is Chromium's own fake capture device reading a .y4m file, so the widget runs exactly as for a
participant (getUserMedia, its worker, onnxruntime-web); only the pictures are ours. Chromium opens that
file anew for every capture session, so one browser serves many clips: `FakeCameraBrowser.show` points
the camera at a clip before a page asks for it.

Debian's chromium is driven through Playwright's Python API (no browser downloads).
"""

from __future__ import annotations

import bisect
import json
import os
import shutil
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from playwright.sync_api import BrowserContext, Page, Playwright, sync_playwright

from runtime.paths import ROOT
from tests.camera_clips import MARKER_BITS, MARKER_BLOCK, Clip, SegmentClip

CHROMIUM_NAMES = ("chromium", "chromium-browser")
"""Debian and Ubuntu names of the system's Chromium; the Makefile's setup installs it."""

SYSTEM_TOOLS = ("ffmpeg",)
"""Besides Chromium: ffmpeg writes the clips."""

SCRIPTS = Path(__file__).resolve().parent / "browser"
"""The JavaScript the harness runs in the pages: the recorder installed before each page's own scripts, and the
functions that read what it recorded or drive the widget."""


DOCUMENTED_WIDGET_ORIGIN = "https://gestures.example.com"
"""The widget server's origin in the widget guide's host-page Content-Security-Policy (docs/widget.md)."""


def documented_host_page_csp(widget_origin: str = DOCUMENTED_WIDGET_ORIGIN) -> str:
    """The widget guide's Content-Security-Policy line for a host page on another origin, its directives only, for a
    widget served from `widget_origin`: what a meeting app copies, so what the tests serve."""
    lines = [line.strip() for line in (ROOT / "docs" / "widget.md").read_text().splitlines()
             if line.strip().startswith("Content-Security-Policy: ")]
    assert len(lines) == 1, f"docs/widget.md should show one host-page CSP line, not {len(lines)}"
    return lines[0].removeprefix("Content-Security-Policy: ").replace(DOCUMENTED_WIDGET_ORIGIN, widget_origin)


def _script(name: str) -> str:
    return (SCRIPTS / f"{name}.js").read_text()


def _recorder_script() -> str:
    """record-widget.js, called with the size of the photo-number marker the clips carry."""
    return f"({_script('record-widget')})({json.dumps({'bits': MARKER_BITS, 'block': MARKER_BLOCK})});"


def find_chromium() -> str | None:
    """The system's Chromium executable, or None when it is not installed."""
    return next((path for name in CHROMIUM_NAMES if (path := shutil.which(name))), None)


def missing_system_tools() -> list[str]:
    """What the browser tests and benchmark need from the system and do not find (`make setup` installs it)."""
    return (["chromium"] if find_chromium() is None else []) + [t for t in SYSTEM_TOOLS if shutil.which(t) is None]


class FakeCameraBrowser:
    """One headless Chromium whose camera plays whichever clip `show` last chose.

    Camera permission is per page (`new_page(camera_allowed=...)`): without the grant, headless Chromium
    refuses getUserMedia with NotAllowedError, as when a participant clicks "Block".
    """

    def __init__(self, playwright: Playwright, workdir: Path, executable: str) -> None:
        self.camera = workdir / "camera.y4m"
        self.browser = playwright.chromium.launch(
            executable_path=executable, headless=True,
            args=["--use-fake-device-for-media-stream", f"--use-file-for-fake-video-capture={self.camera}",
                  # WebRTC between two pages (tests/test_call.py) ignores loopback by default: in a sandbox whose
                  # only interface is lo it gathers no ICE candidate at all
                  "--allow-loopback-in-peer-connection"])

    def show(self, clip: Clip | SegmentClip) -> None:
        """The next camera stream a page opens plays `clip` (a symbolic link, swapped atomically)."""
        link = self.camera.with_suffix(".next")
        link.unlink(missing_ok=True)
        link.symlink_to(clip.path.resolve())
        os.replace(link, self.camera)

    def new_context(self, camera_allowed: bool = True) -> BrowserContext:
        context = self.browser.new_context(permissions=["camera"] if camera_allowed else [],
                                           viewport={"width": 1280, "height": 800})
        context.add_init_script(_recorder_script())
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
    events = page.evaluate(_script("recorded"), "events")
    return [event for event in events if event_type is None or event["type"] == event_type]


def recorded_streams(page: Page) -> list[dict[str, Any]]:
    """Camera streams the page got: {at, constraints, settings}."""
    return page.evaluate(_script("recorded"), "streams")


def page_time_ms(page: Page) -> float:
    """The page's clock, the one the recorded events are timed by: ms since navigation start."""
    return page.evaluate(_script("page-state"))["now"]


def cross_origin_isolated(page: Page) -> bool:
    """Whether the page may share memory with its worker, which onnxruntime-web's wasm threads need."""
    return page.evaluate(_script("page-state"))["crossOriginIsolated"]


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
    grabs = page.evaluate(_script("recorded"), "grabs")
    times = [grab["at"] for grab in grabs]
    return [grabs[bisect.bisect_left(times, timestamp)]["photo"] for timestamp in timestamps]


def start_widget(page: Page) -> None:
    """Calls start() on the page's widget without waiting for it; the events tell how it went."""
    page.evaluate(_script("start-widget"))


def widget_text(page: Page) -> str:
    """Everything the widget shows as text (its open shadow root)."""
    return page.evaluate(_script("widget-text"))
