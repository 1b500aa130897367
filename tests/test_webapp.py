"""The server, over HTTP: its pages embed the widget, it serves the widget's modules, the models and
onnxruntime-web's runtime with the right types and headers (cross-origin isolation, embeddable assets, CSP, gzip),
a missing file is a 404, and no endpoint accepts anything: recognition happens in the browser."""

from __future__ import annotations

import gzip
import os
import re
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from gzip import compress as gzip_compress

import pytest
from fastapi.testclient import TestClient
from starlette.routing import Route

from runtime.paths import ROOT
from tests.server_process import running_server
from tests.without_imports import REFUSED
from training.gestures import EMOJI, GESTURES
from webapp import assets
from webapp.app import ORT_RUNTIME, app

STATIC = ROOT / "static"
WIDGET = "/static/gesture-reactions.js"
ORT_FILES = {"ort.wasm.min.mjs": "text/javascript", "ort-wasm-simd-threaded.mjs": "text/javascript",
             "ort-wasm-simd-threaded.wasm": "application/wasm"}


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(app)


@pytest.fixture(scope="module")
def ort_installed() -> None:
    if not (ORT_RUNTIME.root / "ort.wasm.min.mjs").is_file():
        message = "onnxruntime-web is not installed in node_modules (`make setup` runs `npm ci`)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def widget_elements(html: str) -> int:
    return len(re.findall(r"<gesture-reactions[\s>]", html))


def test_demo_page_embeds_the_widget_off_until_asked(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert f'<script type="module" src="{WIDGET}"></script>' in page.text
    assert widget_elements(page.text) == 1
    assert re.search(r"<gesture-reactions[^>]*\bself-view\b", page.text)
    assert not re.search(r"<gesture-reactions[^>]*\benabled\b", page.text)
    assert re.search(r"<gesture-reactions[^>]*\benabled\b", client.get("/?enabled=1").text)
    assert all(EMOJI[g] in page.text for g in GESTURES)


def test_embed_page_uses_and_shows_the_one_tag_snippet(client: TestClient) -> None:
    page = client.get("/embed")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    widget_url = f"http://testserver{WIDGET}"
    assert f'<script type="module" src="{widget_url}"></script>' in page.text
    assert widget_elements(page.text) == 1
    shown = f'&lt;script type="module" src="{widget_url}"&gt;&lt;/script&gt;\n&lt;gesture-reactions&gt;'
    assert shown in page.text
    assert "addEventListener(&#39;reaction&#39;" in page.text or "addEventListener('reaction'" in page.text


def test_health(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_server_starts_and_serves_without_the_dev_extra() -> None:
    """The product ships no test code: `python -m webapp` (which imports webapp, and webapp.app to serve it) runs
    where playwright, pytest and the rest of the `dev` extra cannot be imported, and never tries to import them."""
    with running_server(("tests.without_imports", "dev", "webapp")) as server:
        for path in ("/", "/healthz"):
            with urllib.request.urlopen(server.url + path, timeout=10) as response:
                assert response.status == 200, path
        output = server.output()
    assert REFUSED not in output, output


@pytest.mark.parametrize("path", ["/", "/embed", "/healthz", WIDGET])
def test_pages_answer_head_requests_as_monitors_send_them(client: TestClient, path: str) -> None:
    response = client.head(path)
    assert response.status_code == 200 and response.content == b""
    assert response.headers["content-type"] == client.get(path).headers["content-type"]


@pytest.mark.parametrize("path", ["/", "/embed", "/healthz", WIDGET, "/static/models/classifier.int8.onnx",
                                  "/static/no-such-file.js", "/no-such-page"])
def test_every_response_is_cross_origin_isolated_with_a_csp(client: TestClient, path: str) -> None:
    headers = client.get(path).headers
    assert headers["cross-origin-opener-policy"] == "same-origin"
    assert headers["cross-origin-embedder-policy"] == "require-corp"
    csp = dict(part.strip().split(" ", 1) for part in headers["content-security-policy"].split(";"))
    assert csp["script-src"] == "'self' 'wasm-unsafe-eval'"
    assert csp["worker-src"] == "'self' blob:"
    assert csp["connect-src"] == "'self'"
    assert headers["x-content-type-options"] == "nosniff"


def test_widget_files_are_embeddable_from_other_origins_and_pages_are_not(client: TestClient) -> None:
    for path in (WIDGET, "/static/gesture-worker.js", "/static/models/classifier.int8.onnx"):
        headers = client.get(path).headers
        assert headers["cross-origin-resource-policy"] == "cross-origin"
        assert headers["access-control-allow-origin"] == "*"
    for path in ("/", "/embed"):
        headers = client.get(path).headers
        assert headers["cross-origin-resource-policy"] == "same-origin"
        assert "access-control-allow-origin" not in headers


def test_every_widget_module_is_served_as_javascript(client: TestClient) -> None:
    """The widget and each module it or its worker imports, found by following the relative imports."""
    pending, seen = ["gesture-reactions.js", "gesture-worker.js"], set()
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        response = client.get(f"/static/{name}")
        assert response.status_code == 200, name
        assert response.headers["content-type"].startswith("text/javascript"), name
        assert response.text == (STATIC / name).read_text()
        pending += re.findall(r"""from '\./([\w.-]+\.js)'""", response.text)
    assert {"palm.js", "resample.js", "pipeline.js", "onnx-metadata.js", "reactions.js", "camera.js"} <= seen


def test_models_are_served_and_a_missing_one_is_a_404(client: TestClient) -> None:
    for path in sorted((STATIC / "models").glob("*.onnx")):
        response = client.get(f"/static/models/{path.name}")
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/octet-stream"
        assert response.content == path.read_bytes()
    missing = client.get("/static/models/no_such_model.onnx")
    assert missing.status_code == 404


def test_onnxruntime_web_is_served_locally_and_only_what_the_worker_loads(client: TestClient,
                                                                         ort_installed: None) -> None:
    worker = (STATIC / "gesture-worker.js").read_text()
    assert "'ort.wasm.min.mjs'" in worker
    assert "../ort/" in (STATIC / "gesture-reactions.js").read_text()
    for name, media_type in ORT_FILES.items():
        response = client.get(f"/ort/{name}")
        assert response.status_code == 200, name
        assert response.headers["content-type"].startswith(media_type), name
        assert response.content == (ORT_RUNTIME.root / name).read_bytes()
    for name in ("ort.min.js", "ort.all.min.mjs", "ort-wasm-simd-threaded.jsep.wasm", "ort.wasm.min.mjs.map",
                 "package.json", "..%2Fpackage.json"):
        assert client.get(f"/ort/{name}").status_code == 404, name


@pytest.mark.parametrize("path", ["/static/../webapp/app.py", "/static/%2E%2E/webapp/app.py",
                                  "/static/models", "/static/.hidden", "/ort/"])
def test_nothing_outside_the_asset_folders_is_served(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 404


def test_big_assets_are_gzipped_once_and_revalidated(client: TestClient) -> None:
    path = STATIC / "models" / "classifier.int8.onnx"
    url = "/static/models/classifier.int8.onnx"
    response = client.get(url, headers={"accept-encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    assert int(response.headers["content-length"]) < path.stat().st_size
    assert response.content == path.read_bytes()  # the client decompressed it
    raw = client.get(url, headers={"accept-encoding": "identity"})
    assert "content-encoding" not in raw.headers and raw.content == path.read_bytes()
    etag = response.headers["etag"]
    again = client.get(url, headers={"accept-encoding": "gzip", "if-none-match": etag})
    assert again.status_code == 304 and again.content == b""
    head = client.head(url, headers={"accept-encoding": "gzip"})
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == response.headers["content-length"]


def test_requests_that_arrive_together_compress_a_file_once(client: TestClient,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    compressed = []

    def slow_compress(data: bytes, *args: object, **kwargs: object) -> bytes:
        compressed.append(len(data))
        time.sleep(0.2)  # long enough for every request to arrive while the first one compresses
        return gzip_compress(data, *args, **kwargs)

    assets._gzipped.cache_clear()
    monkeypatch.setattr(assets.gzip, "compress", slow_compress)
    url = "/static/models/classifier.int8.onnx"
    with ThreadPoolExecutor(4) as pool:
        responses = list(pool.map(lambda _: client.get(url, headers={"accept-encoding": "gzip"}), range(4)))
    assert [r.headers["content-encoding"] for r in responses] == ["gzip"] * 4
    assert len(compressed) == 1


def test_the_widgets_assets_are_compressed_at_start_up(ort_installed: None, monkeypatch: pytest.MonkeyPatch) -> None:
    assets._gzipped.cache_clear()
    with TestClient(app) as started:
        for thread in threading.enumerate():
            if thread.name == "compress-assets":
                thread.join()
        monkeypatch.setattr(assets.gzip, "compress", lambda *_, **__: pytest.fail("compressed on request"))
        for url in (WIDGET, "/static/models/classifier.int8.onnx", "/ort/ort-wasm-simd-threaded.wasm"):
            assert started.get(url, headers={"accept-encoding": "gzip"}).headers["content-encoding"] == "gzip"


def test_pages_are_gzipped(client: TestClient) -> None:
    with client.stream("GET", "/", headers={"accept-encoding": "gzip"}) as response:
        body = b"".join(response.iter_raw())
    assert response.headers["content-encoding"] == "gzip"
    assert b"<gesture-reactions" in gzip.decompress(body)


def test_no_endpoint_accepts_uploads(client: TestClient) -> None:
    for route in app.routes:
        if isinstance(route, Route):
            assert route.methods <= {"GET", "HEAD"}, route.path
    for path in ("/", "/embed", "/healthz", WIDGET, "/static/models/classifier.int8.onnx", "/ort/upload",
                 "/upload", "/api/frames"):
        for method in ("POST", "PUT", "PATCH"):
            response = client.request(method, path, content=b"\xff\xd8\xff", headers={"content-type": "image/jpeg"})
            assert response.status_code in (404, 405), (method, path)
    assert client.post("/", content=b"\xff\xd8\xff", headers={"content-type": "image/jpeg"}).status_code == 405

