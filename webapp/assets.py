"""Static files: the widget, the models and onnxruntime-web's runtime, each with its MIME type, an ETag, and gzip
for clients that take it (compressed once per file version and kept: the runtime's .wasm is 14 MB, 3.7 MB gzipped)."""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
from functools import lru_cache
from pathlib import Path

from fastapi import HTTPException, Request
from fastapi.responses import FileResponse, Response

MEDIA_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".wasm": "application/wasm",
    ".onnx": "application/octet-stream",
    ".html": "text/html; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}
COMPRESSIBLE = {".js", ".mjs", ".css", ".json", ".wasm", ".onnx", ".html", ".svg"}
MIN_COMPRESS_SIZE = 1024
GZIP_LEVEL = 9
"""The smallest gzip: each file is compressed once per version, and the widget downloads 8 MB of runtime and models."""
CACHE_CONTROL = "no-cache"
"""File names carry no version, so browsers revalidate every time (a cheap 304) instead of running a stale model."""


def media_type(path: Path) -> str:
    return MEDIA_TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"


@lru_cache(maxsize=32)
def _gzipped(path: Path, mtime_ns: int, size: int) -> bytes | None:
    """The file gzipped, or None when that does not make it smaller; keyed by version so an update is seen."""
    data = path.read_bytes()
    packed = gzip.compress(data, compresslevel=GZIP_LEVEL, mtime=0)
    return packed if len(packed) < len(data) else None


class AssetFolder:
    """Files under `root`; with `allowed`, only those names (relative paths) are served."""

    def __init__(self, root: Path, allowed: frozenset[str] | None = None) -> None:
        self.root = root.resolve()
        self.allowed = allowed

    def find(self, relative: str) -> Path:
        """The file for a URL path, or 404: never a folder, a hidden file, or anything outside `root`."""
        if self.allowed is not None and relative not in self.allowed:
            raise HTTPException(status_code=404)
        path = (self.root / relative).resolve()
        if (not path.is_relative_to(self.root) or not path.is_file()
                or any(part.startswith(".") for part in path.relative_to(self.root).parts)):
            raise HTTPException(status_code=404)
        return path

    def response(self, request: Request, relative: str) -> Response:
        path = self.find(relative)
        stat = path.stat()
        kind = media_type(path)
        version = hashlib.sha1(f"{stat.st_mtime_ns}-{stat.st_size}".encode()).hexdigest()[:20]
        packed = None
        if (path.suffix in COMPRESSIBLE and stat.st_size >= MIN_COMPRESS_SIZE
                and "gzip" in request.headers.get("accept-encoding", "")):
            packed = _gzipped(path, stat.st_mtime_ns, stat.st_size)
        etag = f'"{version}-gzip"' if packed is not None else f'"{version}"'
        headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL, "Vary": "Accept-Encoding"}
        if etag in request.headers.get("if-none-match", ""):
            return Response(status_code=304, headers=headers)
        if packed is None:
            return FileResponse(path, media_type=kind, headers=headers, stat_result=stat)
        body = b"" if request.method == "HEAD" else packed
        response = Response(body, media_type=kind, headers={**headers, "Content-Encoding": "gzip"})
        response.headers["Content-Length"] = str(len(packed))
        return response
