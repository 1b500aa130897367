"""The widget as a meeting app embeds it, in headless Chromium: on the host's own camera stream, trying again after
a refusal or a failed download with one click, a camera that ends mid-call, each camera failure's state, code and
message, close() being final, and the reaction buttons naming each gesture rightly.

The camera plays a clip of one synthetic picture: these tests need frames, not hands (the real photos are in
tests/test_browser.py)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Page

from runtime.paths import WIDGET_DIR
from tests.browser_harness import FakeCameraBrowser, recorded_events, recorded_streams, wait_for_event, widget_text
from tests.camera_clips import write_clip
from training.gestures import EMOJI, NAMES

LOAD_TIMEOUT_S = 60
"""From a start to the widget's state; generous because the machine may be busy."""

WIDGET = "document.querySelector('gesture-reactions')"

START = f"""() => {WIDGET}.start().then((state) => ({{state}}),
  (error) => ({{error: {{name: error.name, code: error.code, state: error.state, message: error.message}}}}))"""
"""Calls start() and returns what it resolved with ({state}) or rejected with ({error})."""


@pytest.fixture(scope="module")
def camera(browser: FakeCameraBrowser, tmp_path_factory: pytest.TempPathFactory) -> FakeCameraBrowser:
    """The browser, its camera playing a picture of a soft gradient."""
    folder = tmp_path_factory.mktemp("lifecycle")
    ramp = np.linspace(40, 200, 640, dtype=np.uint8)
    picture = np.stack([np.tile(ramp, (480, 1))] * 3, axis=-1)
    Image.fromarray(picture).save(folder / "gradient.png")
    browser.show(write_clip([folder / "gradient.png"], folder / "gradient.y4m", seconds_per_image=1.0))
    return browser


@pytest.fixture
def page(camera: FakeCameraBrowser, server: str) -> Iterator[Page]:
    """The mock meeting page, camera allowed, in a context of its own."""
    page = camera.new_page()
    page.goto(server + "/embed")
    yield page
    page.context.close()


def toggle(page: Page) -> None:
    page.locator("gesture-reactions .toggle").click()


def pressed(page: Page) -> str | None:
    return page.locator("gesture-reactions .toggle").get_attribute("aria-pressed")


def wait_for_state(page: Page, state: str, after: int) -> None:
    """Wait for a statechange to `state` among those recorded after the first `after` (an earlier one does not
    count: the widget was in that state before)."""
    deadline = time.monotonic() + LOAD_TIMEOUT_S
    while not any(e["detail"]["state"] == state for e in recorded_events(page, "statechange")[after:]):
        if time.monotonic() > deadline:
            raise TimeoutError(f"no statechange to {state} within {LOAD_TIMEOUT_S} s")
        page.wait_for_timeout(100)


def last_state(page: Page) -> dict[str, Any]:
    return recorded_events(page, "statechange")[-1]["detail"]


def test_host_stream_one_getusermedia_and_its_track_left_running(page: Page) -> None:
    started = page.evaluate(f"""async () => {{
      window.__host = await navigator.mediaDevices.getUserMedia({{video: true}});
      {WIDGET}.srcObject = window.__host;
      return ({START})();
    }}""")
    assert started == {"state": "running"}
    wait_for_event(page, "gesture", LOAD_TIMEOUT_S)
    assert page.evaluate(f"() => {WIDGET}.srcObject === window.__host")
    page.evaluate(f"() => {WIDGET}.stop()")
    assert page.evaluate("() => window.__host.getVideoTracks()[0].readyState") == "live"
    assert page.evaluate(START) == {"state": "running"}
    page.evaluate(f"() => {WIDGET}.close()")
    assert page.evaluate("() => window.__host.getVideoTracks()[0].readyState") == "live"
    assert len(recorded_streams(page)) == 1, "the widget opened a camera of its own"
    closed = page.evaluate(START)["error"]
    assert closed["code"] == "closed" and closed["name"] == "GestureReactionsError"


def test_one_click_tries_again_after_the_camera_was_refused(camera: FakeCameraBrowser, server: str) -> None:
    page = camera.new_page(camera_allowed=False)
    page.goto(server + "/embed")
    toggle(page)
    error = wait_for_event(page, "error", LOAD_TIMEOUT_S)["detail"]
    assert error["code"] == "permission-denied" and error["state"] == "permission-denied"
    assert pressed(page) == "false"
    assert error["message"] in widget_text(page)
    page.context.grant_permissions(["camera"], origin=server)
    states = len(recorded_events(page, "statechange"))
    toggle(page)
    wait_for_state(page, "running", after=states)
    assert pressed(page) == "true"
    wait_for_event(page, "gesture", LOAD_TIMEOUT_S)
    page.context.close()


def test_a_camera_that_ends_shows_a_message_and_recovers_on_start(page: Page) -> None:
    toggle(page)
    wait_for_event(page, "gesture", LOAD_TIMEOUT_S)
    # as when the camera is unplugged: the track ends and says so
    page.evaluate("() => { const track = window.__tracks.at(-1); track.stop(); "
                  "track.dispatchEvent(new Event('ended')); }")
    error = wait_for_event(page, "error", 5)["detail"]
    assert error["code"] == "camera-ended" and error["state"] == "no-camera"
    assert "The camera stopped" in error["message"] and error["message"] in widget_text(page)
    assert pressed(page) == "false"
    frames = len(recorded_events(page, "gesture"))
    page.wait_for_timeout(1000)
    assert len(recorded_events(page, "gesture")) == frames, "frames processed after the camera ended"
    states = len(recorded_events(page, "statechange"))
    toggle(page)
    wait_for_state(page, "running", after=states)
    assert len(recorded_streams(page)) == 2
    page.wait_for_timeout(1000)
    assert len(recorded_events(page, "gesture")) > frames, "no frames from the camera opened again"


WORKER_FAULTS = {
    # on the third frame (the first has a longer limit, while the browser compiles the runtime)
    "closed": ("self.close(); await new Promise(() => {});", "worker-lost", "stopped answering"),
    "hung": ("await new Promise(() => {});", "worker-lost", "stopped answering"),
    "throwing": ("throw new Error('broken runtime');", "recognition-failed",
                 "Gesture recognition failed: broken runtime"),
    "failing outside a frame": (
        "setTimeout(() => { throw new Error('out of memory'); }); await new Promise(() => {});", "worker-lost",
        "The gesture recognition worker stopped (Uncaught Error: out of memory)"),
}


@pytest.mark.parametrize("fault", WORKER_FAULTS)
def test_a_worker_that_fails_stops_with_its_code_frees_the_camera_and_one_start_makes_a_new_one(page: Page,
                                                                                                fault: str) -> None:
    """A worker that closed itself (to the page, a worker that never answers), hangs, or throws on every frame: an
    error with its code and message, the camera released, and the next start a new worker that works."""
    statement, code, words = WORKER_FAULTS[fault]
    signature = "  async process(rgba, width, height) {\n"
    source = (WIDGET_DIR / "pipeline.js").read_text()
    assert signature in source
    broken = source.replace(signature, f"{signature}if ((globalThis.frames = (globalThis.frames ?? 0) + 1) > 2) "
                                       f"{{ {statement} }}\n")
    page.context.route("**/static/pipeline.js", lambda route: route.fulfill(
        status=200, body=broken, headers={"Content-Type": "text/javascript", "Cache-Control": "no-store"}))
    toggle(page)
    error = wait_for_event(page, "error", LOAD_TIMEOUT_S)["detail"]
    assert (error["code"], error["state"]) == (code, "error"), error
    assert words in error["message"] and "Turn gesture reactions on again" in error["message"], error["message"]
    assert error["message"] in widget_text(page) and pressed(page) == "false"
    assert page.evaluate("() => window.__tracks.at(-1).readyState") == "ended", "the camera was left on"
    frames = len(recorded_events(page, "gesture"))
    assert frames == 2
    page.context.unroute("**/static/pipeline.js")
    assert page.evaluate(START) == {"state": "running"}
    page.wait_for_timeout(1500)
    assert len(recorded_events(page, "gesture")) > frames + 2, "no frames from a new worker"
    assert recorded_events(page, "error")[-1]["detail"] == error, "the new worker failed too"


CAMERA_FAILURES = {
    "NotAllowedError": ("permission-denied", "permission-denied", "Camera access is blocked"),
    "SecurityError": ("permission-denied", "permission-denied", "Camera access is blocked"),
    "NotFoundError": ("no-camera", "no-camera", "No camera found"),
    "OverconstrainedError": ("no-camera", "camera-unavailable", "The chosen camera is not available"),
    "NotReadableError": ("error", "camera-busy", "another application may be using it"),
    "AbortError": ("error", "camera-busy", "another application may be using it"),
}


def test_each_camera_failure_has_its_state_code_and_message(page: Page) -> None:
    for name, (state, code, words) in CAMERA_FAILURES.items():
        page.evaluate(f"""() => {{
          navigator.mediaDevices.getUserMedia = async () => {{ throw new DOMException('stubbed', '{name}'); }};
        }}""")
        error = page.evaluate(START)["error"]
        assert (error["code"], error["state"]) == (code, state), name
        assert words in error["message"], name
        assert recorded_events(page, "error")[-1]["detail"] == {"code": code, "state": state,
                                                                "message": error["message"]}, name
        assert last_state(page)["state"] == state and error["message"] in widget_text(page), name
        assert pressed(page) == "false", name


def test_a_failed_model_download_names_the_file_and_one_start_loads_it_again(page: Page, server: str) -> None:
    page.context.route("**/models/classifier.int8.ort", lambda route: route.fulfill(status=404, body="missing"))
    error = page.evaluate(START)["error"]
    assert error["code"] == "model-load-failed" and error["state"] == "error"
    assert f"{server}/static/models/classifier.int8.ort answered HTTP 404" in error["message"]
    page.context.unroute("**/models/classifier.int8.ort")
    assert page.evaluate(START) == {"state": "running"}
    wait_for_event(page, "gesture", LOAD_TIMEOUT_S)


def test_a_missing_runtime_file_is_named_with_its_http_status(page: Page, server: str) -> None:
    page.context.route("**/ort-wasm-simd-threaded.wasm", lambda route: route.fulfill(status=404, body="{\"detail\"}"))
    error = page.evaluate(START)["error"]
    assert error["code"] == "model-load-failed"
    assert f"{server}/static/ort/ort-wasm-simd-threaded.wasm answered HTTP 404" in error["message"], error["message"]
    assert "magic" not in error["message"], "the runtime's words about the 404 page's bytes"


def test_the_models_and_the_runtime_come_from_the_asset_base(page: Page, server: str) -> None:
    base = f"{server}/widget/{json.loads((WIDGET_DIR / 'package.json').read_text())['version']}/"
    fetched: list[str] = []
    page.context.on("request", lambda request: fetched.append(request.url))
    page.evaluate(f"() => {WIDGET}.setAttribute('asset-base', {base!r})")
    assert page.evaluate(START) == {"state": "running"}
    assets = [url for url in fetched if url.endswith((".ort", ".wasm", ".mjs"))]
    assert {url.rsplit("/", 1)[-1] for url in assets} >= {"classifier.int8.ort", "palm_detection_lite.ort",
                                                          "hand_landmark_lite.ort", "ort-wasm-simd-threaded.wasm"}
    assert [url for url in assets if not url.startswith(base)] == []


def test_a_long_url_in_a_message_wraps_inside_the_widget(page: Page, server: str) -> None:
    long_base = f"{server}/static/{'a-folder-with-a-long-name/' * 12}"
    page.evaluate(f"() => {WIDGET}.setAttribute('asset-base', {long_base!r})")
    error = page.evaluate(START)["error"]
    assert long_base in error["message"]
    widths = page.evaluate(f"""() => {{
      const widget = {WIDGET};
      const status = widget.shadowRoot.querySelector('.status');
      return {{status: status.scrollWidth, shown: status.clientWidth, widget: widget.getBoundingClientRect().width,
               parent: widget.parentElement.getBoundingClientRect().width}};
    }}""")
    assert widths["status"] <= widths["shown"] and widths["widget"] <= widths["parent"], widths


def test_reaction_buttons_name_each_gesture_and_announce_it(page: Page) -> None:
    page.evaluate(f"() => {WIDGET}.ready")
    buttons = page.evaluate(f"""() => [...{WIDGET}.shadowRoot.querySelectorAll('button.react')].map((b) =>
      [b.dataset.gesture, b.textContent, b.getAttribute('aria-label'), b.title])""")
    assert buttons == [["like", "👍", "Send thumbs up", "thumbs up"],
                       ["dislike", "👎", "Send thumbs down", "thumbs down"],
                       ["ok", "🙌", "Send OK sign", "OK sign"]]
    assert {g: (e, n) for g, e, _, n in buttons} == {g: (EMOJI[g], NAMES[g]) for g in EMOJI}
    for gesture, emoji in (("dislike", "👎"), ("like", "👍")):
        page.locator(f"gesture-reactions button.react[data-gesture={gesture}]").click()
        reaction = recorded_events(page, "reaction")[-1]["detail"]
        assert (reaction["gesture"], reaction["emoji"], reaction["source"]) == (gesture, emoji, "manual")
        announced = page.evaluate(f"() => {WIDGET}.shadowRoot.querySelector('[aria-live]').textContent")
        assert announced == f"Reaction sent: {NAMES[gesture]} {emoji}"


WRONG_OPTIONS = """{
  deviceId: [[3]], srcObject: ['camera', {}],
  assetBase: ['data:text/plain,x', 'javascript:alert(1)', 'http://[', 'ftp://example.com/', 5],
  threshold: [2, -0.1, NaN], hold: [-1, 1e9, Infinity], cooldown: [-1, 1e9], emoji: [['x']],
  gestures: [[], ['like', 'like'], ['none'], [3]],
  numHands: [0, 1.5, 5, 1e9], minPalmScore: [2, -1], minGestureScore: [1.5], maxFps: [0, 0.5, 1000],
}"""
"""Values each option must refuse, in the element (as a property and through setOptions) and the controller alike."""


def test_wrong_option_values_are_refused_alike_by_the_element_and_the_controller(page: Page) -> None:
    """A TypeError naming the option, the option unchanged; an attribute cannot throw, so a wrong one is clamped to
    the same range or, for the asset base, ignored with a warning."""
    page.evaluate(f"() => {WIDGET}.ready")
    warnings: list[str] = []
    page.on("console", lambda message: warnings.append(message.text) if message.type == "warning" else None)
    result = page.evaluate(f"""async () => {{
      const {{GestureController}} = await import('/static/gesture-reactions.js');
      const widget = {WIDGET};
      const controller = new GestureController();
      const setters = {{
        "the element's property": (option, value) => {{ widget[option] = value; }},
        "the element's setOptions": (option, value) => widget.setOptions({{[option]: value}}),
        'the controller': (option, value) => controller.setOptions({{[option]: value}}),
      }};
      const escaped = [];
      for (const [option, values] of Object.entries({WRONG_OPTIONS})) {{
        for (const value of values) {{
          for (const [who, set] of Object.entries(setters)) {{
            const before = JSON.stringify(who === 'the controller' ? controller.options[option] : widget[option]);
            try {{
              set(option, value);
              escaped.push(`${{who}} took ${{option}} = ${{String(value)}}`);
            }} catch (error) {{
              if (!(error instanceof TypeError) || !error.message.startsWith(`option ${{option}}: expected`)) {{
                escaped.push(`${{who}}, ${{option}} = ${{String(value)}}: ${{error}}`);
              }}
            }}
            const after = JSON.stringify(who === 'the controller' ? controller.options[option] : widget[option]);
            if (after !== before) escaped.push(`${{who}}: ${{option}} changed from ${{before}} to ${{after}}`);
          }}
        }}
      }}
      controller.close();
      widget.setAttribute('num-hands', '1e9');
      widget.setAttribute('asset-base', 'data:text/plain,x');
      return {{escaped, numHands: widget.numHands, assetBase: widget.assetBase}};
    }}""")
    assert result["escaped"] == []
    assert result["numHands"] == 4
    assert result["assetBase"] == page.evaluate("() => new URL('/static/', location.href).href"), result
    assert any("ignoring asset-base" in w and "http(s) URL" in w for w in warnings), warnings
    assert page.evaluate(START) == {"state": "running"}  # from the default asset base, the wrong one ignored


def test_the_gestures_option_chooses_the_buttons_and_refuses_a_gesture_the_model_lacks(page: Page) -> None:
    page.evaluate(f"() => {WIDGET}.ready")
    warnings: list[str] = []
    page.on("console", lambda message: warnings.append(message.text) if message.type == "warning" else None)
    result = page.evaluate(f"""() => {{
      const widget = {WIDGET};
      const buttons = () => [...widget.shadowRoot.querySelectorAll('button.react')].map((b) => b.dataset.gesture);
      const seen = {{}};
      widget.setAttribute('gestures', 'ok, like');
      seen.attribute = [widget.gestures, buttons(), widget.options.gestures];
      try {{ widget.gestures = ['like', 'wave']; seen.refused = false; }} catch (error) {{
        seen.refused = error instanceof RangeError && error.message.includes('"wave"');
      }}
      seen.kept = [widget.gestures, widget.getAttribute('gestures')];
      widget.gestures = ['dislike'];
      seen.property = [widget.gestures, buttons(), widget.getAttribute('gestures')];
      try {{ widget.react('like'); seen.react = false; }} catch (error) {{ seen.react = error instanceof RangeError; }}
      widget.setAttribute('gestures', 'wave');
      seen.ignored = widget.gestures;
      widget.gestures = null;
      seen.reset = [widget.gestures, buttons(), widget.hasAttribute('gestures')];
      return seen;
    }}""")
    assert result["attribute"] == [["like", "ok"], ["like", "ok"], ["like", "ok"]]  # the model's order
    assert result["refused"] and result["kept"] == [["like", "ok"], "ok, like"]
    assert result["property"] == [["dislike"], ["dislike"], "dislike"] and result["react"]
    assert result["ignored"] == ["like", "dislike", "ok"]
    assert any('ignoring gestures="wave"' in w for w in warnings), warnings
    assert result["reset"] == [["like", "dislike", "ok"], ["like", "dislike", "ok"], False]


def test_options_reach_the_element_as_attributes_properties_and_set_options(page: Page) -> None:
    page.evaluate(f"() => {WIDGET}.ready")
    options = page.evaluate(f"""() => {{
      const widget = {WIDGET};
      widget.setAttribute('num-hands', '1');
      widget.maxFps = 12;
      widget.setOptions({{minPalmScore: 0.6, minGestureScore: 0.7, threshold: 0.9}});
      const {{srcObject, ...rest}} = widget.options;
      return {{...rest, srcObject, attributes: ['max-fps', 'min-palm-score'].map((n) => widget.getAttribute(n))}};
    }}""")
    assert {k: options[k] for k in ("numHands", "maxFps", "minPalmScore", "minGestureScore", "threshold")} == {
        "numHands": 1, "maxFps": 12, "minPalmScore": 0.6, "minGestureScore": 0.7, "threshold": 0.9}
    assert options["attributes"] == ["12", "0.6"] and options["srcObject"] is None
    with pytest.raises(Exception, match="no option"):
        page.evaluate(f"() => {WIDGET}.setOptions({{colour: 'red'}})")



def test_the_demo_page_ticks_the_gestures_that_react(camera: FakeCameraBrowser, server: str) -> None:
    """The live demo's settings: the model's default gestures are ticked at first and the others not; unticking a
    gesture takes it out of the widget's `gestures` (and its button), ticking one adds it; the last one ticked
    stays ticked."""
    page = camera.new_page()
    page.goto(server + "/")
    page.evaluate(f"() => {WIDGET}.ready")
    buttons = f"() => [...{WIDGET}.shadowRoot.querySelectorAll('button.react')].map((b) => b.dataset.gesture)"
    ticked = page.evaluate("() => [...document.querySelectorAll('input[data-chosen]')].map((b) => b.checked)")
    assert ticked == [True] * 3 + [False] * 5 and page.evaluate(buttons) == ["like", "dislike", "ok"]
    page.locator("input[data-chosen=peace]").check()
    assert page.evaluate(f"() => {WIDGET}.gestures") == ["like", "dislike", "ok", "peace"] == page.evaluate(buttons)
    page.locator("input[data-chosen=peace]").uncheck()
    page.locator("input[data-chosen=dislike]").uncheck()
    assert page.evaluate(f"() => {WIDGET}.gestures") == ["like", "ok"] == page.evaluate(buttons)
    page.locator("input[data-chosen=like]").uncheck()
    page.locator("input[data-chosen=ok]").click()
    assert page.locator("input[data-chosen=ok]").is_checked()
    assert page.evaluate(f"() => {WIDGET}.gestures") == ["ok"]
    for gesture in ("like", "dislike"):
        page.locator(f"input[data-chosen={gesture}]").check()
    assert page.evaluate(buttons) == ["like", "dislike", "ok"]
    page.context.close()
