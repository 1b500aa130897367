"""A page running MediaPipe's Gesture Recognizer on the camera (`benchmarks/mediapipe_page/`), served on loopback
by the benchmark, never by the product, compressed as the product's files are (as a CDN would), so that the two
downloads compare."""

from __future__ import annotations

import mimetypes
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from runtime.paths import ROOT
from webapp.assets import CODINGS, compress_ahead, compressed
from webapp.compression import chosen_coding

PAGE = ROOT / "benchmarks" / "mediapipe_page"
TASKS_VISION = ROOT / "node_modules" / "@mediapipe" / "tasks-vision"
MODEL = ROOT.parent / "shared" / "peers" / "mediapipe" / "gesture_recognizer.task"
LOADED = [TASKS_VISION / "vision_bundle.mjs", TASKS_VISION / "wasm" / "vision_wasm_internal.js",
          TASKS_VISION / "wasm" / "vision_wasm_internal.wasm", MODEL]
"""What the page downloads besides itself (a browser with SIMD): compressed ahead as the product's files are at
set-up (the first run compresses them, about a minute here; kept in the cache folder after), and before the first
page opens."""


class PeerFiles(SimpleHTTPRequestHandler):
    """The page's folder, with /tasks-vision/ and /model.task mapped to where they lie; no logging."""

    def translate_path(self, path: str) -> str:
        route = path.split("?", 1)[0]
        if route == "/model.task":
            return str(MODEL)
        if route.startswith("/tasks-vision/"):
            return str(TASKS_VISION / route.removeprefix("/tasks-vision/"))
        return super().translate_path(path)

    def do_GET(self) -> None:
        """A file in the coding the browser takes best where that makes it smaller, else as the handler sends it."""
        path = Path(self.translate_path(self.path))
        coding = chosen_coding(self.headers.get("Accept-Encoding", ""), tuple(CODINGS))
        if coding and path.is_file():
            stat = path.stat()
            packed = compressed(path, stat.st_mtime_ns, stat.st_size, coding)
            if packed is not None:
                self.send_response(200)
                self.send_header("Content-Type", self.guess_type(str(path)))
                self.send_header("Content-Encoding", coding)
                self.send_header("Content-Length", str(len(packed)))
                self.end_headers()
                self.wfile.write(packed)
                return
        super().do_GET()

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def peer_server() -> Iterator[str]:
    """The page's base URL while it is served; FileNotFoundError naming what is missing."""
    for needed, how in ((TASKS_VISION, "`npm ci` installs it"), (MODEL, "the shared peers folder holds it")):
        if not needed.exists():
            raise FileNotFoundError(f"{needed} is missing: {how}")
    mimetypes.add_type("text/javascript", ".mjs")
    for path in LOADED:
        compress_ahead(path)
        stat = path.stat()
        compressed(path, stat.st_mtime_ns, stat.st_size, next(iter(CODINGS)))
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(PeerFiles, directory=str(PAGE)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
