"""A page running MediaPipe's Gesture Recognizer on the camera (`benchmarks/mediapipe_page/`), served on loopback
by the benchmark itself, never by the product: the page, npm's `@mediapipe/tasks-vision` (a dev dependency) and
the recognizer bundle from `../shared/peers/mediapipe/`."""

from __future__ import annotations

import mimetypes
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

from runtime.paths import ROOT

PAGE = ROOT / "benchmarks" / "mediapipe_page"
TASKS_VISION = ROOT / "node_modules" / "@mediapipe" / "tasks-vision"
MODEL = ROOT.parent / "shared" / "peers" / "mediapipe" / "gesture_recognizer.task"


class PeerFiles(SimpleHTTPRequestHandler):
    """The page's folder, with /tasks-vision/ and /model.task mapped to where they lie; no logging."""

    def translate_path(self, path: str) -> str:
        route = path.split("?", 1)[0]
        if route == "/model.task":
            return str(MODEL)
        if route.startswith("/tasks-vision/"):
            return str(TASKS_VISION / route.removeprefix("/tasks-vision/"))
        return super().translate_path(path)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def peer_server() -> Iterator[str]:
    """The page's base URL while it is served; FileNotFoundError naming what is missing."""
    for needed, how in ((TASKS_VISION, "`npm ci` installs it"), (MODEL, "the shared peers folder holds it")):
        if not needed.exists():
            raise FileNotFoundError(f"{needed} is missing: {how}")
    mimetypes.add_type("text/javascript", ".mjs")
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(PeerFiles, directory=str(PAGE)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
