"""The two-person call (/call) in headless Chromium: two pages of one browser context (BroadcastChannel, the
signalling, reaches the tabs of one origin and storage partition) join a room, see each other's camera over WebRTC,
and each reaction, from the camera or a button, crosses over the call's data channel to the sender's tile on the
other side. A third tab finds the room full; a tab that leaves puts the other back to waiting, and can come back.
Meanwhile the server gets nothing but GETs.

The tests share one call (one context, pages Alex and Sam), in order. Both tabs see Chromium's one fake camera, and
it plays a new clip only once no page holds it (pages that open it while another does join its capture): a plain
gradient first, then, for the camera's reaction, a real thumbs-up test photo that the Python pipeline surely
recognises (as tests/test_browser.py picks them) in front of both; Sam's own 👍 shows on Sam's own tile only.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import BrowserContext, Page, Request, WebSocket

from runtime.classifier import read_metadata
from runtime.paths import classifier_model
from tests.browser_harness import SCRIPTS, FakeCameraBrowser, recorded_streams, wait_for_event
from tests.browser_reference import PythonReference, clearly_shown, request_origin
from tests.camera_clips import Clip, write_clip
from tests.conftest import manifest_rows, with_raise_hand
from training.gestures import EMOJI

ROOM = "test-room"
LOAD_TIMEOUT_S = 90
"""From a page load to the widget's first reaction: two pages load the models at once on a busy machine."""
CONNECT_TIMEOUT_S = 30
"""From a page load to both tabs in the call; it takes about a second."""
SIGNALLING = {"hello", "welcome", "full", "bye", "description", "candidate"}


@dataclass
class Call:
    """One browser context holding the call's pages, and everything its pages asked of the network."""

    browser: FakeCameraBrowser
    server: str
    context: BrowserContext
    pages: dict[str, Page]
    requests: list[Request]
    websockets: list[WebSocket]

    def url(self, name: str) -> str:
        return f"{self.server}/call?{urlencode({'room': ROOM, 'name': name})}"

    def join(self, name: str, clip: Clip, page: Page | None = None) -> Page:
        """`name` joins the room (in a new page, or in `page` again), the camera playing `clip` unless another page
        holds it."""
        self.browser.show(clip)
        page = page or self.context.new_page()
        page.goto(self.url(name))
        wait_until(page, lambda: recorded_streams(page), 10, "the page opened no camera")
        self.pages[name] = page
        return page


@pytest.fixture(scope="module")
def gradient(tmp_path_factory: pytest.TempPathFactory) -> Clip:
    """A camera with no hand in sight."""
    folder = tmp_path_factory.mktemp("call")
    ramp = np.linspace(40, 200, 640, dtype=np.uint8)
    Image.fromarray(np.stack([np.tile(ramp, (480, 1))] * 3, axis=-1)).save(folder / "gradient.png")
    return write_clip([folder / "gradient.png"], folder / "gradient.y4m", seconds_per_image=1.0)


@pytest.fixture(scope="module")
def thumbs_up(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Clip:
    """A camera showing a thumbs-up photo from the test split that the Python pipeline recognises in every view."""
    candidates = sorted(data_dir / r["path"] for r in manifest_rows(data_dir)
                        if r["kind"] == "frame" and r["split"] == "test" and r["label"] == "like")
    photos = PythonReference(clearly_shown(read_metadata(classifier_model()).reactions)).first_recognised(
        candidates, "like", 1)
    return write_clip(photos, tmp_path_factory.mktemp("call") / "like.y4m", seconds_per_image=2.0)


@pytest.fixture(scope="module")
def call(browser: FakeCameraBrowser, server: str, gradient: Clip) -> Iterator[Call]:
    """Alex and Sam in the room, connected."""
    context = browser.new_context()
    context.add_init_script(f"({(SCRIPTS / 'record-call.js').read_text()})();")
    call = Call(browser, server, context, {}, [], [])
    context.on("request", lambda request: call.requests.append(request))
    context.on("page", lambda page: page.on("websocket", lambda websocket: call.websockets.append(websocket)))
    call.join("Alex", gradient)
    call.join("Sam", gradient)
    for page in call.pages.values():
        wait_for_tile(page, "connected")
    yield call
    context.close()


def wait_until(page: Page, check: Callable[[], Any], timeout_s: float, failure: str) -> Any:
    """check()'s first truthy answer, polled (the pages' CSP forbids Playwright's wait_for_function)."""
    deadline = time.monotonic() + timeout_s
    while not (answer := check()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{failure} within {timeout_s:.0f} s")
        page.wait_for_timeout(100)
    return answer


def remote_tile(page: Page) -> dict[str, Any]:
    """The other participant's tile as the page shows it, and the call's status and announcement."""
    return page.evaluate("""() => {
      const tile = document.getElementById('tile-remote');
      const video = tile.querySelector('video');
      return {state: tile.dataset.state, caption: tile.querySelector('figcaption').textContent,
              video: {stream: Boolean(video.srcObject), width: video.videoWidth, time: video.currentTime},
              status: document.getElementById('call-status').textContent,
              announced: document.getElementById('call-announcer').textContent};
    }""")


def wait_for_tile(page: Page, state: str) -> dict[str, Any]:
    return wait_until(page, lambda: (tile := remote_tile(page))["state"] == state and tile, CONNECT_TIMEOUT_S,
                      f"the other's tile not {state}: {remote_tile(page)}")


def assert_remote_video_plays(page: Page) -> None:
    first = wait_until(page, lambda: (video := remote_tile(page)["video"])["width"] > 0 and video, CONNECT_TIMEOUT_S,
                       "no picture in the other's tile")
    # its clock moves on: within the connection's time, not a fixed second (a busy machine stalls a fresh stream)
    wait_until(page, lambda: remote_tile(page)["video"]["time"] > first["time"], CONNECT_TIMEOUT_S,
               "the other's video does not play")


def wait_for_burst(page: Page, tile: str, emoji: str, timeout_s: float = 10) -> dict[str, str]:
    """The first reaction burst with `emoji` that the page showed on `tile` ('tile-local' or 'tile-remote')."""
    return wait_until(page, lambda: next((burst for burst in page.evaluate("() => window.__call.bursts")
                                          if burst["tile"] == tile and burst["emoji"] == emoji), None),
                      timeout_s, f"no {emoji} on {tile}")


def sent_reactions(page: Page) -> list[dict[str, Any]]:
    """What the page sent over its data channel."""
    return [json.loads(data) for data in page.evaluate("() => window.__call.sent")]


def signalled(page: Page) -> list[dict[str, Any]]:
    """What the page posted on its signalling channel."""
    return page.evaluate("() => window.__call.signalled")


def react(page: Page, gesture: str) -> None:
    """A click on the widget's reaction button (there once the classifier's metadata is read)."""
    page.locator(f"gesture-reactions button.react[data-gesture={gesture}]").click(timeout=LOAD_TIMEOUT_S * 1000)


def get(url: str) -> tuple[str, Message]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode(), response.headers


def test_the_page_runs_only_its_own_files_and_the_others_link_to_it(server: str) -> None:
    page, headers = get(server + "/call")
    assert "<gesture-reactions" in page
    assert page.count("<script") == page.count('<script type="module" src="/static/') == 2, "an inline script"
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    for other in ("/", "/embed"):
        assert 'href="/call"' in get(server + other)[0], other


def test_both_see_each_other_over_webrtc(call: Call) -> None:
    alex, sam = call.pages["Alex"], call.pages["Sam"]
    assert remote_tile(alex)["caption"] == "Sam" and remote_tile(sam)["caption"] == "Alex"
    assert "In a call with Sam" in remote_tile(alex)["status"]
    for page in (alex, sam):
        assert_remote_video_plays(page)
    # the greater id offered, the other answered, and each sent its ICE candidates
    types = [{message["type"] for message in signalled(page)} for page in (alex, sam)]
    assert all({"hello", "description", "candidate"} <= sent for sent in types), types


def test_a_manual_reaction_shows_on_the_senders_tile_on_the_other_side(call: Call) -> None:
    alex, sam = call.pages["Alex"], call.pages["Sam"]
    react(sam, "dislike")
    reaction = wait_for_event(sam, "reaction", 5, gesture="dislike")["detail"]
    assert (reaction["emoji"], reaction["source"]) == (EMOJI["dislike"], "manual")
    assert {"gesture": "dislike", "emoji": EMOJI["dislike"], "source": "manual"} in sent_reactions(sam)
    assert wait_for_burst(alex, "tile-remote", EMOJI["dislike"])["caption"] == "Sam"
    assert remote_tile(alex)["announced"] == f"Sam reacted {EMOJI['dislike']}"


def test_a_third_tab_finds_the_room_full_and_the_call_goes_on(call: Call, gradient: Clip) -> None:
    kim = call.join("Kim", gradient, call.context.new_page())
    status = wait_until(kim, lambda: "already has two participants" in (s := remote_tile(kim)["status"]) and s,
                        CONNECT_TIMEOUT_S, "Kim was not told the room is full")
    assert ROOM in status and remote_tile(kim)["state"] == "waiting"
    assert kim.evaluate("() => window.__tracks.map((track) => track.readyState)") == ["ended"], "camera left on"
    assert kim.locator("#call-tiles").is_hidden() and kim.locator("gesture-reactions").is_hidden()
    kim.close()
    del call.pages["Kim"]
    for page in call.pages.values():
        assert remote_tile(page)["state"] == "connected"
    assert_remote_video_plays(call.pages["Sam"])


def test_the_other_leaving_shows_waiting_and_coming_back_works_again(call: Call, gradient: Clip) -> None:
    alex, sam = call.pages["Alex"], call.pages["Sam"]
    alex.goto("about:blank")  # pagehide: Alex says goodbye
    tile = wait_for_tile(sam, "waiting")
    assert tile["caption"] == "Waiting for someone" and not tile["video"]["stream"]
    assert tile["status"].startswith("Alex left. Waiting for someone to join")
    call.join("Alex", gradient, alex)
    for page in (alex, sam):
        wait_for_tile(page, "connected")
        assert_remote_video_plays(page)
    react(alex, "ok")
    assert wait_for_burst(sam, "tile-remote", EMOJI["ok"])["caption"] == "Alex"


def test_a_thumbs_up_to_the_camera_shows_on_the_senders_tile_on_the_other_side(call: Call, thumbs_up: Clip) -> None:
    alex, sam = call.pages["Alex"], call.pages["Sam"]
    for page in (alex, sam):  # the camera plays a new clip once no page holds it (the module's docstring)
        page.goto("about:blank")
    call.join("Alex", thumbs_up, alex)
    call.join("Sam", thumbs_up, sam)
    wait_for_tile(sam, "connected")
    reaction = wait_for_event(alex, "reaction", LOAD_TIMEOUT_S, gesture="like", source="camera")["detail"]
    assert reaction["emoji"] == EMOJI["like"]
    assert {"gesture": "like", "emoji": EMOJI["like"], "source": "camera"} in sent_reactions(alex)
    assert wait_for_burst(sam, "tile-remote", EMOJI["like"])["caption"] == "Alex"
    assert remote_tile(sam)["announced"] == f"Alex reacted {EMOJI['like']}"
    assert wait_for_burst(alex, "tile-local", EMOJI["like"])["caption"] == "Alex (you)"
    # the reaction went over the data channel, never over the signalling
    assert {message["type"] for message in signalled(alex)} <= SIGNALLING
    assert not [message for message in signalled(alex) if "emoji" in json.dumps(message, ensure_ascii=False)]


def test_a_raised_hand_shows_on_the_senders_tile_on_the_other_side_until_lowered(
        call: Call, gradient: Clip, data_dir: Path, tmp_path: Path) -> None:
    """With a model that has a raise-hand gesture (tests.conftest.with_raise_hand: OK photos raise the hand), an OK
    photo raises Alex's hand on Sam's tile of Alex, and a `none` photo after it lowers it there."""
    rows = sorted((r for r in manifest_rows(data_dir) if r["kind"] == "frame" and r["split"] == "test"),
                  key=lambda r: r["path"])
    reference = PythonReference(clearly_shown(read_metadata(classifier_model()).reactions))
    photos = [*reference.first_recognised([data_dir / r["path"] for r in rows if r["label"] == "ok"], "ok", 1),
              *reference.first_recognised([data_dir / r["path"] for r in rows if r["label"] == "none"], "none", 1)]
    clip = write_clip(photos, tmp_path / "raise.y4m", seconds_per_image=4.0)
    model = with_raise_hand(tmp_path)
    route = "**/models/classifier.int8.ort"
    call.context.route(route, lambda request: request.fulfill(body=model.with_suffix(".ort").read_bytes(),
                                                              content_type="application/octet-stream"))
    try:
        alex, sam = call.pages["Alex"], call.pages["Sam"]
        for page in (alex, sam):
            page.goto("about:blank")
        call.join("Alex", clip, alex)
        call.join("Sam", clip, sam)
        wait_for_tile(sam, "connected")
        hand = "document.querySelector('#tile-remote .tile-hand')"
        shown = wait_until(sam, lambda: sam.evaluate(f"() => {hand}.hidden ? '' : {hand}.textContent"),
                           LOAD_TIMEOUT_S, "Alex's raised hand never showed on Sam's tile of Alex")
        assert shown == "✋"
        assert {"hand": "raised", "emoji": "✋"} in sent_reactions(alex)
        wait_until(sam, lambda: sam.evaluate(f"() => {hand}.hidden"), LOAD_TIMEOUT_S,
                   "Alex's hand was never lowered on Sam's tile of Alex")
        assert {"hand": "lowered", "emoji": "✋"} in sent_reactions(alex)
    finally:
        call.context.unroute(route)
        for page in call.pages.values():  # back to the shipped model, and no hand, for the tests after this one
            page.goto("about:blank")
        for name, page in call.pages.items():
            call.join(name, gradient, page)
        for page in call.pages.values():
            wait_for_tile(page, "connected")


def test_the_server_got_nothing_but_gets_of_its_own_files(call: Call) -> None:
    requests = [(r.url, r.method, r.post_data_buffer) for r in call.requests if not r.url.startswith("data:")]
    assert [url for url, _, _ in requests if request_origin(url) != request_origin(call.server)] == []
    assert [(url, method) for url, method, _ in requests if method != "GET"] == []
    assert [url for url, _, body in requests if body] == []
    assert call.websockets == []
    fetched = {urlsplit(url).path for url, _, _ in requests}
    assert {"/call", "/static/call.js", "/static/models/palm_detection_lite.ort"} <= fetched
