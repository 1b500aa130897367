"""The server, over HTTP: its pages embed the widget, it serves the widget's modules, the models and
onnxruntime-web's runtime with the right types and headers (cross-origin isolation, embeddable assets, CSP, gzip),
also as a versioned package cached for good; every answer, errors included, carries the security headers; a bad
path is a 404, an unknown Host a 400, and no endpoint accepts anything: recognition happens in the browser."""

from __future__ import annotations

import gzip
import hashlib
import html
import json
import os
import re
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from gzip import compress as gzip_compress
from pathlib import Path

import httpx2
import pytest
from fastapi.testclient import TestClient
from starlette.routing import Route

from runtime.paths import MODELS_DIR, PAGES_DIR, WIDGET_DIR, WIDGET_MODELS_DIR
from tests.browser_harness import DOCUMENTED_WIDGET_ORIGIN, documented_host_page_csp
from tests.server_process import running_server
from tests.without_imports import REFUSED
from training.gestures import EMOJI, GESTURES
from webapp import app as webapp_app
from webapp import assets
from webapp import compress_ahead as compress_ahead_cli
from webapp.app import ORT_RUNTIME, app
from webapp.security import HOST_PAGE_CSP

WIDGET = "/static/gesture-reactions.js"
MANIFEST = json.loads((WIDGET_DIR / "package.json").read_text())
VERSION = MANIFEST["version"]
PACKAGE = f"/widget/{VERSION}"
ORT_FILES = {"ort.wasm.min.mjs": "text/javascript", "ort-wasm-simd-threaded.mjs": "text/javascript",
             "ort-wasm-simd-threaded.wasm": "application/wasm"}
BASE_URL = "http://localhost"
"""An allowed host by default (TestClient's own, `testserver`, is not one)."""

CSP = {
    "default-src": "'self'",
    "script-src": "'self' 'wasm-unsafe-eval'",
    "worker-src": "'self' blob:",
    "connect-src": "'self'",
    "img-src": "'self' data: blob:",
    "media-src": "'self' blob: mediastream:",
    "style-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'self'",
}
EVERY_RESPONSE = {
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-embedder-policy": "require-corp",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "permissions-policy": "camera=(self), microphone=(), geolocation=()",
}
EMBEDDABLE = {"cross-origin-resource-policy": "cross-origin", "access-control-allow-origin": "*"}
PAGE = {"cross-origin-resource-policy": "same-origin"}
IMMUTABLE = "public, max-age=31536000, immutable"


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(app, base_url=BASE_URL)


@pytest.fixture(scope="module")
def ort_installed() -> None:
    if not (ORT_RUNTIME.root / "ort.wasm.min.mjs").is_file():
        message = "onnxruntime-web is not installed in node_modules (`make setup` runs `npm ci`)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def widget_elements(html: str) -> int:
    return len(re.findall(r"<gesture-reactions[\s>]", html))


def csp_directives(header: str) -> dict[str, str]:
    directives: dict[str, str] = {}
    for part in header.split(";"):
        name, _, value = part.strip().partition(" ")
        assert name not in directives, f"{name} twice (browsers use the first)"
        directives[name] = value.strip()
    return directives


def assert_security_headers(response: httpx2.Response, embeddable: bool) -> None:
    """Every header SecurityHeaders sends, once each with its exact value, and every CSP directive."""
    headers = response.headers
    for name, value in {**EVERY_RESPONSE, **(EMBEDDABLE if embeddable else PAGE)}.items():
        assert headers.get_list(name) == [value], (name, response.status_code, response.request.url)
    assert len(headers.get_list("content-security-policy")) == 1
    assert csp_directives(headers["content-security-policy"]) == CSP
    if not embeddable:
        assert "access-control-allow-origin" not in headers


def get_encoded(client: TestClient, url: str, accept_encoding: str | None, **headers: str) -> httpx2.Response:
    """GET with that Accept-Encoding, or with none at all (None; httpx sends one by default)."""
    request = client.build_request("GET", url, headers=headers)
    del request.headers["accept-encoding"]
    if accept_encoding is not None:
        request.headers["accept-encoding"] = accept_encoding
    return client.send(request)


def local_file(url: str) -> Path:
    """The file behind an asset URL."""
    relative = url.removeprefix(PACKAGE).removeprefix("/static").removeprefix("/")
    if relative.startswith("ort/"):
        return ORT_RUNTIME.root / relative.removeprefix("ort/")
    return WIDGET_DIR / relative


def test_demo_page_embeds_the_widget_off_until_asked(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert f'<script type="module" src="{WIDGET}"></script>' in page.text
    assert widget_elements(page.text) == 1
    assert re.search(r"<gesture-reactions[^>]*\bself-view\b", page.text)
    assert not re.search(r"<gesture-reactions[^>]*\benabled\b", page.text)
    assert re.search(r"<gesture-reactions[^>]*\benabled\b", client.get("/?enabled=1").text)
    assert all(EMOJI[g] in page.text for g in GESTURES)


def test_embed_page_uses_and_shows_the_one_tag_snippet(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GESTURE_REACTIONS_PUBLIC_URL", raising=False)
    page = client.get("/embed", headers={"host": "127.0.0.1:8000"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert f'<script type="module" src="{WIDGET}"></script>' in page.text
    assert widget_elements(page.text) == 1
    shown = f'&lt;script type="module" src="{WIDGET}"&gt;&lt;/script&gt;\n&lt;gesture-reactions&gt;'
    assert shown in page.text
    assert "addEventListener(&#39;reaction&#39;" in page.text or "addEventListener('reaction'" in page.text
    assert "://" not in page.text and "127.0.0.1" not in page.text  # nothing built from the Host header


def test_embed_page_names_the_configured_public_url(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GESTURE_REACTIONS_PUBLIC_URL", "https://gestures.example/")
    page = client.get("/embed").text
    widget_url = "https://gestures.example/static/gesture-reactions.js"
    assert f'<script type="module" src="{widget_url}"></script>' in page
    assert f'&lt;script type="module" src="{widget_url}"&gt;&lt;/script&gt;' in page
    assert "localhost" not in page


def test_the_host_page_csp_is_one_line_in_the_widget_guide_and_on_the_embed_page(client: TestClient,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """The widget guide's line is the one tests/test_browser.py serves a host page with; /embed shows the same."""
    assert documented_host_page_csp() == HOST_PAGE_CSP.format(widget_origin=DOCUMENTED_WIDGET_ORIGIN)
    assert "'wasm-unsafe-eval'" in HOST_PAGE_CSP
    monkeypatch.setenv("GESTURE_REACTIONS_PUBLIC_URL", "https://gestures.example/")
    page = client.get("/embed").text
    assert HOST_PAGE_CSP.format(widget_origin="https://gestures.example") in html.unescape(page)


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


@pytest.mark.parametrize("path", ["/", "/embed", "/healthz", WIDGET, f"{PACKAGE}/gesture-reactions.js"])
def test_pages_answer_head_requests_as_monitors_send_them(client: TestClient, path: str) -> None:
    response = client.head(path)
    assert response.status_code == 200 and response.content == b""
    assert response.headers["content-type"] == client.get(path).headers["content-type"]


@pytest.mark.parametrize(("method", "path", "host", "status"), [
    ("GET", "/", None, 200),
    ("GET", "/embed", None, 200),
    ("GET", "/call", None, 200),
    ("GET", "/healthz", None, 200),
    ("GET", WIDGET, None, 200),
    ("GET", "/static/models/classifier.int8.ort", None, 200),
    ("GET", f"{PACKAGE}/gesture-reactions.js", None, 200),
    ("GET", "/static/no-such-file.js", None, 404),
    ("GET", "/no-such-page", None, 404),
    ("GET", "/widget/0.0.0/gesture-reactions.js", None, 404),
    ("POST", WIDGET, None, 405),
    ("POST", "/", None, 405),
    ("GET", "/embed", "evil.example", 400),
    ("GET", WIDGET, "evil.example", 400),
])
def test_every_response_carries_every_security_header(client: TestClient, method: str, path: str, host: str | None,
                                                      status: int) -> None:
    response = client.request(method, path, headers={"host": host} if host else {})
    assert response.status_code == status
    assert_security_headers(response, embeddable=path.startswith(("/static/", "/widget/")))


@pytest.mark.parametrize("path", [WIDGET, "/static/models/classifier.int8.ort", f"{PACKAGE}/gesture-reactions.js"])
def test_a_revalidated_file_carries_every_security_header(client: TestClient, path: str) -> None:
    etag = client.get(path).headers["etag"]
    response = client.get(path, headers={"if-none-match": etag})
    assert response.status_code == 304
    assert_security_headers(response, embeddable=True)


@pytest.mark.parametrize(("path", "embeddable"), [("/", False), (WIDGET, True), (f"{PACKAGE}/gesture-worker.js", True)])
def test_an_unhandled_error_is_a_plain_500_with_every_security_header(path: str, embeddable: bool,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(webapp_app, "gestures", broken)
    monkeypatch.setattr(assets.AssetFolder, "response", broken)
    with pytest.raises(RuntimeError, match="a bug"):  # still raised, so the server logs its traceback
        TestClient(app, base_url=BASE_URL).get(path)
    response = TestClient(app, base_url=BASE_URL, raise_server_exceptions=False).get(path)
    assert response.status_code == 500 and response.text == "Internal Server Error"
    assert_security_headers(response, embeddable)


def test_widget_files_are_embeddable_from_other_origins_and_pages_are_not(client: TestClient) -> None:
    for path in (WIDGET, "/static/gesture-worker.js", "/static/models/classifier.int8.ort",
                 f"{PACKAGE}/gesture-reactions.js", f"{PACKAGE}/models/classifier.int8.ort"):
        headers = client.get(path).headers
        assert headers["cross-origin-resource-policy"] == "cross-origin", path
        assert headers["access-control-allow-origin"] == "*", path
    for path in ("/", "/embed", "/healthz"):
        headers = client.get(path).headers
        assert headers["cross-origin-resource-policy"] == "same-origin", path
        assert "access-control-allow-origin" not in headers, path


@pytest.mark.parametrize("path", ["/embed", "/embed/", "/", "/healthz", WIDGET, "/static/"])
def test_an_unknown_host_is_refused_and_never_reflected(client: TestClient, path: str) -> None:
    response = client.get(path, headers={"host": "evil.example"}, follow_redirects=False)
    assert response.status_code == 400
    assert "location" not in response.headers and "evil.example" not in response.text


@pytest.mark.parametrize("host", ["localhost", "localhost:8000", "127.0.0.1", "127.0.0.1:8000", "[::1]:8000"])
def test_the_local_hosts_are_allowed_by_default(client: TestClient, host: str) -> None:
    assert client.get("/healthz", headers={"host": host}).status_code == 200
    redirect = client.get("/embed/", headers={"host": host}, follow_redirects=False)
    assert redirect.status_code == 307 and redirect.headers["location"] == f"http://{host}/embed"


def test_the_allowed_hosts_and_the_public_url_are_the_environments() -> None:
    env = {"GESTURE_REACTIONS_ALLOWED_HOSTS": "127.0.0.1, gestures.example",
           "GESTURE_REACTIONS_PUBLIC_URL": "https://gestures.example"}

    def get(url: str, host: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers={"Host": host}), timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, ""

    with running_server(env=env) as server:
        status, page = get(server.url + "/embed", "gestures.example")
        assert status == 200
        assert '<script type="module" src="https://gestures.example/static/gesture-reactions.js">' in page
        assert get(server.url + "/healthz", "localhost")[0] == 400  # allowed by default, not by this list


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
        assert response.text == (WIDGET_DIR / name).read_text()
        pending += re.findall(r"""(?:from |import\()'\./([\w.-]+\.js)'""", response.text)
    assert {"palm.js", "resample.js", "pipeline.js", "onnx-metadata.js", "reactions.js", "camera.js"} <= seen


def test_models_are_served_and_a_missing_one_is_a_404(client: TestClient) -> None:
    for path in sorted([*WIDGET_MODELS_DIR.glob("*.ort"), *MODELS_DIR.glob("*.onnx")]):
        response = client.get(f"/static/models/{path.name}")
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/octet-stream"
        assert response.content == path.read_bytes()
    missing = client.get("/static/models/no_such_model.onnx")
    assert missing.status_code == 404


def test_onnxruntime_web_is_served_next_to_the_widget_and_only_what_the_worker_loads(client: TestClient,
                                                                                   ort_installed: None) -> None:
    assert "'ort.wasm.min.mjs'" in (WIDGET_DIR / "gesture-worker.js").read_text()
    for name, media_type in ORT_FILES.items():
        for url in (f"/static/ort/{name}", f"{PACKAGE}/ort/{name}"):
            response = client.get(url)
            assert response.status_code == 200, url
            assert response.headers["content-type"].startswith(media_type), url
            assert response.content == (ORT_RUNTIME.root / name).read_bytes()
        assert client.get(f"/ort/{name}").status_code == 404  # moved under /static/
    for name in ("ort.min.js", "ort.all.min.mjs", "ort-wasm-simd-threaded.jsep.wasm", "ort.wasm.min.mjs.map",
                 "package.json"):
        for url in (f"/static/ort/{name}", f"{PACKAGE}/ort/{name}"):
            assert client.get(url).status_code == 404, url


def test_the_widget_package_is_served_under_its_version_and_cached_for_good(client: TestClient) -> None:
    for relative in ("gesture-reactions.js", "gesture-worker.js", "models/classifier.int8.ort", "package.json"):
        response = client.get(f"{PACKAGE}/{relative}")
        assert response.status_code == 200, relative
        assert response.headers["cache-control"] == IMMUTABLE, relative
        assert response.content == (WIDGET_DIR / relative).read_bytes()
        unversioned = client.get(f"/static/{relative}")
        assert unversioned.status_code == 200 and unversioned.headers["cache-control"] == "no-cache", relative
    for version in ("0.0.0", f"{VERSION}.1", "latest", ""):
        assert client.get(f"/widget/{version}/gesture-reactions.js").status_code == 404, version
        assert client.get(f"/widget/{version}/ort/ort.wasm.min.mjs").status_code == 404, version


OLD_STATIC_FILES = [
    "gesture-reactions.js", "gesture-reactions.d.ts", "gesture-controller.js", "gesture-engine.js", "gesture-worker.js",
    "camera.js", "reactions.js", "onnx-metadata.js", "pipeline.js", "palm.js", "landmarks.js", "resample.js",
    "widget-style.js", "package.json", "models/classifier.int8.onnx", "models/palm_detection_lite.onnx",
    "models/hand_landmark_lite.onnx", "models/classifier.fp32.onnx",
    "demo.js", "meeting.js", "call.js", "call-peer.js", "call-room.js", "pages.css",
]
"""Every file of the one flat static/ folder that the package and the pages once shared, as /static/ still serves it."""


def files_under(folder: Path) -> set[str]:
    return {path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file()}


def test_the_package_folder_holds_exactly_what_its_package_json_publishes() -> None:
    published = set(MANIFEST["files"])
    assert files_under(WIDGET_DIR) == published | {"package.json"}  # npm always packs package.json
    entries = {MANIFEST["main"], MANIFEST["types"], *MANIFEST["exports"]["."].values(), *MANIFEST["sideEffects"]}
    assert {entry.removeprefix("./") for entry in entries} <= published
    assert not files_under(WIDGET_DIR) & files_under(PAGES_DIR), "a page's file would hide the package's under /static/"


@pytest.mark.parametrize("relative", OLD_STATIC_FILES)
def test_the_urls_of_the_once_flat_static_folder_still_answer(client: TestClient, relative: str) -> None:
    assert client.get(f"/static/{relative}").status_code == 200
    in_package = client.get(f"{PACKAGE}/{relative}").status_code
    assert in_package == (200 if relative in MANIFEST["files"] or relative == "package.json" else 404)


def test_the_runtime_is_cached_for_good_under_the_version(client: TestClient, ort_installed: None) -> None:
    assert client.get(f"{PACKAGE}/ort/ort.wasm.min.mjs").headers["cache-control"] == IMMUTABLE
    assert client.get("/static/ort/ort.wasm.min.mjs").headers["cache-control"] == "no-cache"


BAD_PATHS = [
    "/static/x%00", "/static/x%00.js", "/static/models/%00", "/static/" + "a" * 5000, "/static/" + "a" * 300 + ".js",
    "/static/models/" + "b" * 5000 + ".onnx", "/static/../webapp/app.py", "/static/%2E%2E/webapp/app.py",
    "/static/..%2Fwebapp%2Fapp.py", "/static/ort/%2E%2E%2F%2E%2E%2Fpackage.json", "/static//etc/passwd",
    "/static/%2Fetc%2Fpasswd", "/static/models",
    "/static/.hidden", "/static/ort/", "/static/ort/x%00", "/static/ort/" + "c" * 5000,
    f"{PACKAGE}/x%00", f"{PACKAGE}/" + "a" * 5000, f"{PACKAGE}/..%2F..%2Fwebapp%2Fapp.py", f"{PACKAGE}/ort/x%00",
    "/widget/x%00/gesture-reactions.js", "/widget/" + "v" * 5000 + "/gesture-reactions.js",
]


@pytest.mark.parametrize("path", BAD_PATHS, ids=lambda path: path[:60])
def test_a_bad_path_is_a_404_with_every_security_header(client: TestClient, path: str) -> None:
    response = client.get(path)  # an exception in the server would raise here
    assert response.status_code == 404
    sent = response.request.url.raw_path  # the client drops dot segments: /static/../x is sent as /x
    assert_security_headers(response, embeddable=sent.startswith((b"/static/", b"/widget/")))


def test_no_hidden_file_and_nothing_outside_the_folder_is_served(tmp_path: Path) -> None:
    folder = tmp_path / "static"
    (folder / ".config").mkdir(parents=True)
    (folder / "shown.js").write_text("export {};")
    for hidden in (folder / ".hidden.js", folder / ".config" / "shown.js", tmp_path / "outside.js"):
        hidden.write_text("export {};")
    (folder / "link.js").symlink_to(tmp_path / "outside.js")
    (folder / "loop.js").symlink_to(folder / "loop.js")
    served = assets.AssetFolder(folder)
    assert served.find("shown.js") == folder / "shown.js"
    for relative in (".hidden.js", ".config/shown.js", "../outside.js", "link.js", "loop.js", "", ".", "x\0.js",
                     "a" * 5000):
        with pytest.raises(assets.HTTPException) as refused:
            served.find(relative)
        assert refused.value.status_code == 404, relative


COMPRESSIBLE = [WIDGET, "/static/gesture-worker.js", "/static/models/classifier.int8.ort",
                "/static/models/palm_detection_lite.ort", "/static/ort/ort.wasm.min.mjs",
                "/static/ort/ort-wasm-simd-threaded.mjs", "/static/ort/ort-wasm-simd-threaded.wasm",
                f"{PACKAGE}/gesture-reactions.js", f"{PACKAGE}/ort/ort-wasm-simd-threaded.wasm"]


@pytest.mark.parametrize("path", COMPRESSIBLE)
def test_files_are_compressed_as_accepted_with_an_etag_per_coding(client: TestClient, path: str,
                                                                  request: pytest.FixtureRequest) -> None:
    if "/ort/" in path:
        request.getfixturevalue("ort_installed")
    data = local_file(path).read_bytes()
    raw = get_encoded(client, path, None)
    assert "content-encoding" not in raw.headers and raw.content == data
    assert int(raw.headers["content-length"]) == len(data)
    packed = {}
    for coding, accepts in {"br": ("br", "gzip, deflate, br, zstd", "*", "br, *;q=0.1", "gzip;q=0.5, br"),
                            "gzip": ("gzip", "gzip;q=0.5", "identity;q=0.5, gzip", "br;q=0, gzip", "x-gzip")}.items():
        packed[coding] = get_encoded(client, path, coding)
        assert packed[coding].headers["content-encoding"] == coding
        assert int(packed[coding].headers["content-length"]) < len(data)
        assert packed[coding].content == data  # the client decoded it
        for accepted in accepts:
            response = get_encoded(client, path, accepted)
            assert response.headers.get("content-encoding") == coding, accepted
            assert response.headers["etag"] == packed[coding].headers["etag"], accepted
    assert int(packed["br"].headers["content-length"]) < int(packed["gzip"].headers["content-length"])
    for refused in ("", "identity", "zstd", "gzip;q=0", "GZIP; Q=0", "gzip;q=0.5, identity", "*;q=0",
                    "gzip;q=0, br;q=0, *"):
        response = get_encoded(client, path, refused)
        assert "content-encoding" not in response.headers, refused
        assert response.headers["etag"] == raw.headers["etag"], refused
    assert len({raw.headers["etag"], packed["br"].headers["etag"], packed["gzip"].headers["etag"]}) == 3
    for response, accept in ((packed["br"], "br"), (packed["gzip"], "gzip"), (raw, None)):
        assert response.headers.get_list("vary") == ["Accept-Encoding"]
        etag = response.headers["etag"]
        again = get_encoded(client, path, accept, **{"if-none-match": etag})
        assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
        assert again.headers.get_list("vary") == ["Accept-Encoding"]
    assert get_encoded(client, path, "br", **{"if-none-match": "*"}).status_code == 304  # any version held
    # one coding's ETag does not revalidate another's body
    assert get_encoded(client, path, None, **{"if-none-match": packed["gzip"].headers["etag"]}).status_code == 200
    assert get_encoded(client, path, "gzip", **{"if-none-match": raw.headers["etag"]}).status_code == 200
    assert get_encoded(client, path, "br", **{"if-none-match": packed["gzip"].headers["etag"]}).status_code == 200
    head = client.head(path, headers={"accept-encoding": "br"})
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == packed["br"].headers["content-length"]


@pytest.mark.parametrize("path", ["/", "/embed"])
def test_pages_are_gzipped_when_accepted(client: TestClient, path: str) -> None:
    for accepted in ("gzip", "gzip;q=0.5", "*"):
        with client.stream("GET", path, headers={"accept-encoding": accepted}) as response:
            body = b"".join(response.iter_raw())
        assert response.headers["content-encoding"] == "gzip", accepted
        assert response.headers.get_list("vary") == ["Accept-Encoding"], accepted
        page = gzip.decompress(body)
        assert b"<gesture-reactions" in page
    for refused in (None, "identity", "gzip;q=0", "gzip;q=0.5, identity"):
        response = get_encoded(client, path, refused)
        assert "content-encoding" not in response.headers, refused
        assert response.headers.get_list("vary") == ["Accept-Encoding"], refused
        assert response.content == page


def test_requests_that_arrive_together_compress_the_runtime_once(client: TestClient, ort_installed: None,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    compressed = []

    def slow_compress(data: bytes, *args: object, **kwargs: object) -> bytes:
        compressed.append(len(data))
        time.sleep(0.2)  # long enough for every request to arrive while the first one compresses
        return gzip_compress(data, *args, **kwargs)

    assets._compressed.cache_clear()
    monkeypatch.setattr(assets.gzip, "compress", slow_compress)
    name = "ort-wasm-simd-threaded.wasm"
    urls = [f"/static/ort/{name}", f"{PACKAGE}/ort/{name}"] * 3
    arrived = threading.Barrier(len(urls))

    def get(url: str) -> httpx2.Response:
        arrived.wait()
        return client.get(url, headers={"accept-encoding": "gzip"})

    with ThreadPoolExecutor(len(urls)) as pool:
        responses = list(pool.map(get, urls))
    assert [r.headers["content-encoding"] for r in responses] == ["gzip"] * len(urls)
    assert compressed == [(ORT_RUNTIME.root / name).stat().st_size]


def test_the_widgets_assets_are_compressed_at_start_up(ort_installed: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """In brotli, what every current browser asks for."""
    assets._compressed.cache_clear()
    with TestClient(app, base_url=BASE_URL) as started:
        for thread in threading.enumerate():
            if thread.name == "compress-assets":
                thread.join()
        monkeypatch.setattr(assets.brotli, "compress", lambda *_, **__: pytest.fail("compressed on request"))
        for url in (WIDGET, "/static/models/palm_detection_lite.ort", "/static/ort/ort-wasm-simd-threaded.wasm"):
            response = started.get(url, headers={"accept-encoding": "gzip, deflate, br, zstd"})
            assert response.headers["content-encoding"] == "br"


def test_files_compressed_ahead_at_set_up_are_served_at_brotlis_smallest(
        client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`python -m webapp.compress_ahead` keeps the widget's files in brotli at quality 11 in the cache folder: the
    server sends those bytes (smaller than its own quick quality 9) and compresses nothing; a file not kept ahead is
    compressed as before."""
    monkeypatch.setenv("GESTURE_REACTIONS_CACHE", str(tmp_path))
    assets._compressed.cache_clear()
    palm_only = ((webapp_app.WIDGET, "models/palm_detection_lite.ort"),)
    monkeypatch.setattr(compress_ahead_cli, "WIDGET_DOWNLOADS", palm_only)
    compress_ahead_cli.main([])
    palm, worker = "/static/models/palm_detection_lite.ort", "/static/gesture-worker.js"
    data = local_file(palm).read_bytes()
    kept = assets.brotli.compress(data, quality=assets.AHEAD_BROTLI_QUALITY)
    assert [p.name for p in (tmp_path / "compressed").iterdir()] == [f"{hashlib.sha256(data).hexdigest()}.br"]
    assert not assets.compress_ahead(local_file(palm))  # kept already: not compressed again
    with monkeypatch.context() as patch:
        patch.setattr(assets.brotli, "compress", lambda *_, **__: pytest.fail("compressed on request"))
        response = get_encoded(client, palm, "br")
    assert response.content == data and int(response.headers["content-length"]) == len(kept)
    assert len(kept) < len(assets.brotli.compress(data, quality=assets.BROTLI_QUALITY))
    quick = get_encoded(client, worker, "br")  # not kept ahead: compressed by the server, at quality 9
    worker_quick = assets.brotli.compress(local_file(worker).read_bytes(), quality=assets.BROTLI_QUALITY)
    assert int(quick.headers["content-length"]) == len(worker_quick)
    assets._compressed.cache_clear()


def test_no_endpoint_accepts_uploads(client: TestClient) -> None:
    for route in app.routes:
        if isinstance(route, Route):
            assert route.methods <= {"GET", "HEAD"}, route.path
    for path in ("/", "/embed", "/healthz", WIDGET, "/static/models/classifier.int8.onnx", "/static/ort/upload",
                 f"{PACKAGE}/gesture-reactions.js", "/upload", "/api/frames"):
        for method in ("POST", "PUT", "PATCH"):
            response = client.request(method, path, content=b"\xff\xd8\xff", headers={"content-type": "image/jpeg"})
            assert response.status_code in (404, 405), (method, path)
    assert client.post("/", content=b"\xff\xd8\xff", headers={"content-type": "image/jpeg"}).status_code == 405
