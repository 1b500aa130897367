"""FastAPI application: the live demo page, a mock meeting page that embeds the widget as a third-party app would,
the widget's files, the models and onnxruntime-web's runtime. No endpoint accepts images or video: recognition runs
in the participant's browser."""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import lru_cache
from pathlib import Path

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.types import ASGIApp

from runtime.classifier import read_metadata
from runtime.onnx_models import ModelFileError
from runtime.paths import MODELS_DIR, PAGES_DIR, ROOT, WIDGET_DIR, classifier_model
from webapp.assets import IMMUTABLE, AssetFolder, AssetMounts
from webapp.compression import PageGZip
from webapp.security import EMBEDDABLE_PREFIXES, HOST_PAGE_CSP, SecurityHeaders

TEMPLATES = Jinja2Templates(directory=Path(__file__).resolve().parent / "templates")

WIDGET = AssetFolder(WIDGET_DIR)
"""The widget's package: served under /static/ and, as that version, under /widget/{version}/."""
STATIC = AssetMounts(("", WIDGET), ("", AssetFolder(PAGES_DIR)), ("models/", AssetFolder(MODELS_DIR)))
"""/static/: the package's files and the pages' beside them, and the ONNX models beside the browser's copies (for
`benchmarks.model_times`), at the URLs they had when all were one folder."""
ORT_RUNTIME = AssetFolder(ROOT / "node_modules" / "onnxruntime-web" / "dist", allowed=frozenset({
    "ort.wasm.min.mjs",  # the API, wasm backend only
    "ort-wasm-simd-threaded.mjs",  # its Emscripten loader, also the script of its threads
    "ort-wasm-simd-threaded.wasm",
}))
"""onnxruntime-web's files, installed by `npm ci`: only the three the widget's worker loads, served under /static/ort/
(and /widget/{version}/ort/): the widget finds its runtime in ort/ next to itself."""
WIDGET_VERSION: str = json.loads((WIDGET_DIR / "package.json").read_text())["version"]
"""The widget package's version: its files are also served, cached for good, under /widget/{WIDGET_VERSION}/."""

WIDGET_PATH = "/static/gesture-reactions.js"

ALLOWED_HOSTS_VARIABLE = "GESTURE_REACTIONS_ALLOWED_HOSTS"
DEFAULT_ALLOWED_HOSTS = "localhost,127.0.0.1,[::1]"
PUBLIC_URL_VARIABLE = "GESTURE_REACTIONS_PUBLIC_URL"

log = logging.getLogger(__name__)


@lru_cache(maxsize=4)
def _gestures_of(path: Path, mtime_ns: int) -> tuple[tuple[str, str, bool], ...]:
    meta = read_metadata(path)
    return tuple((gesture, meta.emoji[gesture], gesture in meta.default_gestures) for gesture in meta.gestures)


def gestures() -> tuple[tuple[str, str, bool], ...]:
    """(gesture, default emoji, on by default) from the classifier the widget runs, read again when the file
    changes; none when it is missing or wrong (the page still loads, and the widget itself names the file and the
    fault)."""
    path = classifier_model()
    try:
        return _gestures_of(path, path.stat().st_mtime_ns)
    except (OSError, ModelFileError) as error:
        log.warning("the demo page lists no gestures: %s", error)
        return ()


WIDGET_DOWNLOADS = ((WIDGET, "*.js"), (WIDGET, "models/*"), (ORT_RUNTIME, "**/*"))
"""What the widget downloads: its scripts, the models, the runtime."""


def compress_widget_assets() -> None:
    """What the widget downloads, compressed before anyone asks."""
    for folder, pattern in WIDGET_DOWNLOADS:
        folder.compress(pattern)


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    threading.Thread(target=compress_widget_assets, name="compress-assets", daemon=True).start()
    yield


def allowed_hosts() -> list[str]:
    """The Host header values the server answers (comma-separated in $GESTURE_REACTIONS_ALLOWED_HOSTS; `*.example.com`
    for subdomains): any other gets 400, so no page or redirect is built from a name the server does not go by."""
    return [host.strip() for host in os.environ.get(ALLOWED_HOSTS_VARIABLE, DEFAULT_ALLOWED_HOSTS).split(",")
            if host.strip()]


class HardenedFastAPI(FastAPI):
    """FastAPI with `SecurityHeaders` outside everything: Starlette puts its ServerErrorMiddleware, which answers an
    unhandled exception with a 500, outside all added middleware, so that 500 would otherwise go out without them."""

    def build_middleware_stack(self) -> ASGIApp:
        return SecurityHeaders(super().build_middleware_stack())


app = HardenedFastAPI(title="gesture-reactions", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
app.add_middleware(PageGZip, exclude=EMBEDDABLE_PREFIXES, minimum_size=1024, compresslevel=6)  # pages only
app.add_middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts())


@app.api_route("/", methods=["GET", "HEAD"], response_class=HTMLResponse)
def index(request: Request, enabled: str = "") -> HTMLResponse:
    """The live demo. `?enabled=1` turns the widget on at load (the benchmark times load -> first gesture)."""
    return TEMPLATES.TemplateResponse(request, "index.html", {
        "enabled": enabled in ("1", "true"), "gestures": gestures()})


@app.api_route("/embed", methods=["GET", "HEAD"], response_class=HTMLResponse)
def embed(request: Request) -> HTMLResponse:
    """A mock meeting app embedding the widget with one script tag and one element, and showing that snippet: the
    widget's URL on $GESTURE_REACTIONS_PUBLIC_URL when set, else relative to wherever the page came from (never
    built from the request's Host header)."""
    public_url = os.environ.get(PUBLIC_URL_VARIABLE, "").rstrip("/")
    host_page_csp = HOST_PAGE_CSP.format(widget_origin=public_url or "(this server's origin)")
    return TEMPLATES.TemplateResponse(request, "embed.html", {"widget_url": public_url + WIDGET_PATH,
                                                             "host_page_csp": host_page_csp})


@app.api_route("/call", methods=["GET", "HEAD"], response_class=HTMLResponse)
def call(request: Request) -> HTMLResponse:
    """A two-person call between two tabs of one browser (static/pages/call.js), the widget running on the call's camera
    stream: room, names, signalling (BroadcastChannel), video and reactions (WebRTC) stay in the browser; the
    server only sends the page."""
    return TEMPLATES.TemplateResponse(request, "call.html")


@app.api_route("/healthz", methods=["GET", "HEAD"])
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.api_route("/static/ort/{name}", methods=["GET", "HEAD"])
def ort_file(request: Request, name: str) -> Response:
    return ORT_RUNTIME.response(request, name)


@app.api_route("/static/{path:path}", methods=["GET", "HEAD"])
def static_file(request: Request, path: str) -> Response:
    return STATIC.response(request, path)


def _check_version(version: str) -> None:
    if version != WIDGET_VERSION:
        raise HTTPException(status_code=404)


@app.api_route("/widget/{version}/ort/{name}", methods=["GET", "HEAD"])
def versioned_ort_file(request: Request, version: str, name: str) -> Response:
    _check_version(version)
    return ORT_RUNTIME.response(request, name, cache_control=IMMUTABLE)


@app.api_route("/widget/{version}/{path:path}", methods=["GET", "HEAD"])
def versioned_static_file(request: Request, version: str, path: str) -> Response:
    """The package at WIDGET_VERSION, the one version this server has: any other is a 404."""
    _check_version(version)
    return WIDGET.response(request, path, cache_control=IMMUTABLE)
