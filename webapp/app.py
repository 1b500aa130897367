"""FastAPI application: the live demo page, a mock meeting page that embeds the widget as a third-party app would,
the widget's files, the models and onnxruntime-web's runtime. No endpoint accepts images or video: recognition runs
in the participant's browser."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import lru_cache
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from runtime.classifier import read_metadata
from runtime.onnx_models import ModelFileError
from runtime.paths import ROOT, classifier_model
from webapp.assets import AssetFolder
from webapp.security import SecurityHeaders

TEMPLATES = Jinja2Templates(directory=Path(__file__).resolve().parent / "templates")

STATIC = AssetFolder(ROOT / "static")
ORT_RUNTIME = AssetFolder(ROOT / "node_modules" / "onnxruntime-web" / "dist", allowed=frozenset({
    "ort.wasm.min.mjs",  # the API, wasm backend only
    "ort-wasm-simd-threaded.mjs",  # its Emscripten loader, also the script of its threads
    "ort-wasm-simd-threaded.wasm",
}))
"""onnxruntime-web's files, installed by `npm ci`: only the three the widget's worker loads."""

WIDGET_PATH = "/static/gesture-reactions.js"

log = logging.getLogger(__name__)


@lru_cache(maxsize=4)
def _gestures_of(path: Path, mtime_ns: int) -> tuple[tuple[str, str], ...]:
    meta = read_metadata(path)
    return tuple((gesture, meta.emoji[gesture]) for gesture in meta.gestures)


def gestures() -> tuple[tuple[str, str], ...]:
    """(gesture, default emoji) pairs from the classifier the widget runs, read again when the file changes; none
    when it is missing or wrong (the page still loads, and the widget itself names the file and the fault)."""
    path = classifier_model()
    try:
        return _gestures_of(path, path.stat().st_mtime_ns)
    except (OSError, ModelFileError) as error:
        log.warning("the demo page lists no gestures: %s", error)
        return ()

def compress_widget_assets() -> None:
    """What the widget downloads (its scripts, the models, the runtime), compressed before anyone asks."""
    STATIC.compress("*.js")
    STATIC.compress("models/*")
    ORT_RUNTIME.compress()


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    threading.Thread(target=compress_widget_assets, name="compress-assets", daemon=True).start()
    yield


app = FastAPI(title="gesture-reactions", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
app.add_middleware(GZipMiddleware, minimum_size=1024, compresslevel=6)
app.add_middleware(SecurityHeaders)


@app.api_route("/", methods=["GET", "HEAD"], response_class=HTMLResponse)
def index(request: Request, enabled: str = "") -> HTMLResponse:
    """The live demo. `?enabled=1` turns the widget on at load (the benchmark times load -> first gesture)."""
    return TEMPLATES.TemplateResponse(request, "index.html", {
        "enabled": enabled in ("1", "true"), "gestures": gestures()})


@app.api_route("/embed", methods=["GET", "HEAD"], response_class=HTMLResponse)
def embed(request: Request) -> HTMLResponse:
    """A mock meeting app embedding the widget with one script tag and one element, and showing that snippet."""
    widget_url = str(request.base_url).rstrip("/") + WIDGET_PATH
    return TEMPLATES.TemplateResponse(request, "embed.html", {"widget_url": widget_url})


@app.api_route("/healthz", methods=["GET", "HEAD"])
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.api_route("/static/{path:path}", methods=["GET", "HEAD"])
def static_file(request: Request, path: str) -> Response:
    return STATIC.response(request, path)


@app.api_route("/ort/{name}", methods=["GET", "HEAD"])
def ort_file(request: Request, name: str) -> Response:
    return ORT_RUNTIME.response(request, name)
