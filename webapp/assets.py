"""Static files: the widget, the models and onnxruntime-web's runtime, each with its MIME type, an ETag, and brotli
or gzip for clients that take it, compressed once per file version and kept; brotli at its smallest where set-up
compressed the file ahead (`python -m webapp.compress_ahead`) (docs/decisions.md#brotli-for-the-widgets-files)."""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
import os
import threading
from functools import lru_cache
from pathlib import Path

import brotli
from fastapi import HTTPException, Request
from fastapi.responses import FileResponse, Response

from runtime.paths import cache_dir
from webapp.compression import chosen_coding

MEDIA_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".wasm": "application/wasm",
    ".onnx": "application/octet-stream",
    ".ort": "application/octet-stream",
    ".html": "text/html; charset=utf-8",
    ".svg": "image/svg+xml",
    ".ts": "text/plain; charset=utf-8",  # the widget's .d.ts (Python guesses a Qt format)
    ".png": "image/png",
}
COMPRESSIBLE = {".js", ".mjs", ".css", ".json", ".wasm", ".onnx", ".ort", ".html", ".svg", ".ts"}
MIN_COMPRESS_SIZE = 1024
GZIP_LEVEL = 9
"""The smallest gzip: each file is compressed once per version, and the widget downloads 8 MB of runtime and models."""
BROTLI_QUALITY = 9
"""Brotli's quality when the server compresses a file (docs/decisions.md#brotli-for-the-widgets-files)."""
AHEAD_BROTLI_QUALITY = 11
"""Brotli's quality for files compressed ahead, at set-up: the smallest, at a cost no request should wait for
(about 30 s for onnxruntime-web's wasm on 2 cores)."""
CODINGS = {
    "br": lambda data: brotli.compress(data, quality=BROTLI_QUALITY),
    "gzip": lambda data: gzip.compress(data, compresslevel=GZIP_LEVEL, mtime=0),
}
"""The content codings offered, the preferred first: every current browser takes brotli from a secure origin."""
CACHE_CONTROL = "no-cache"
"""Under /static/ file names carry no version, so browsers revalidate every time (a cheap 304) instead of running a
stale model."""
IMMUTABLE = "public, max-age=31536000, immutable"
"""Under a versioned path (/widget/{version}/) a file never changes: browsers keep it a year without asking."""


def media_type(path: Path) -> str:
    return MEDIA_TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"


_compressing = threading.Lock()
"""One compression at a time: requests that arrive together for a file not yet compressed wait for the first one's
result instead of compressing it again each (the .wasm takes a second or two)."""


def compressed(path: Path, mtime_ns: int, size: int, coding: str) -> bytes | None:
    """The file in `coding` (a key of CODINGS), or None when that does not make it smaller; kept per file version."""
    with _compressing:
        return _compressed(path, mtime_ns, size, coding)


@lru_cache(maxsize=128)
def _compressed(path: Path, mtime_ns: int, size: int, coding: str) -> bytes | None:
    data = path.read_bytes()
    ahead = _ahead(data) if coding == "br" else None
    packed = ahead.read_bytes() if ahead is not None and ahead.is_file() else CODINGS[coding](data)
    return packed if len(packed) < len(data) else None


def _ahead(data: bytes) -> Path:
    """Where set-up keeps these bytes in brotli: the cache folder, by their hash (whatever the file's name or date)."""
    return cache_dir() / "compressed" / f"{hashlib.sha256(data).hexdigest()}.br"


def compress_ahead(path: Path) -> bool:
    """Keep `path` in brotli at AHEAD_BROTLI_QUALITY where `compressed` finds it; False when it was kept already."""
    data = path.read_bytes()
    out = _ahead(data)
    if out.is_file():
        return False
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f"{out.name}.{os.getpid()}.partial")  # never a half-written file under the final name
    partial.write_bytes(brotli.compress(data, quality=AHEAD_BROTLI_QUALITY))
    os.replace(partial, out)
    return True


class AssetFolder:
    """Files under `root`; with `allowed`, only those names (relative paths) are served."""

    def __init__(self, root: Path, allowed: frozenset[str] | None = None) -> None:
        self.root = root.resolve()
        self.allowed = allowed

    def compressible(self, pattern: str = "**/*") -> list[Path]:
        """The files matching `pattern` that are served compressed."""
        return [path for path in sorted(self.root.glob(pattern))
                if path.is_file() and path.suffix in COMPRESSIBLE and path.stat().st_size >= MIN_COMPRESS_SIZE
                and (self.allowed is None or path.relative_to(self.root).as_posix() in self.allowed)
                and not any(part.startswith(".") for part in path.relative_to(self.root).parts)]

    def compress(self, pattern: str = "**/*") -> None:
        """Compress the files matching `pattern`, in the preferred coding, ahead of their first request (the server
        does it at start-up, so that its first visitor does not wait for the runtime to be compressed)."""
        for path in self.compressible(pattern):
            stat = path.stat()
            compressed(path, stat.st_mtime_ns, stat.st_size, next(iter(CODINGS)))

    def find(self, relative: str) -> Path:
        """The file for a URL path, or 404: never a folder, a hidden file, or anything outside `root`."""
        if self.allowed is not None and relative not in self.allowed:
            raise HTTPException(status_code=404)
        try:
            path = (self.root / relative).resolve()
            is_file = path.is_file()
        except (ValueError, OSError, RuntimeError):  # a NUL byte, a name too long, a symbolic link loop
            raise HTTPException(status_code=404) from None
        if (not is_file or not path.is_relative_to(self.root)
                or any(part.startswith(".") for part in path.relative_to(self.root).parts)):
            raise HTTPException(status_code=404)
        return path

    def holds(self, relative: str) -> bool:
        """Whether `find` has a file for this URL path."""
        try:
            self.find(relative)
        except HTTPException:
            return False
        return True

    def response(self, request: Request, relative: str, cache_control: str = CACHE_CONTROL) -> Response:
        """The file at `relative`, compressed as the client accepts it; 304 when its ETag for that coding matches."""
        path = self.find(relative)
        stat = path.stat()
        kind = media_type(path)
        version = hashlib.sha1(f"{stat.st_mtime_ns}-{stat.st_size}".encode()).hexdigest()[:20]
        packed = coding = None
        if path.suffix in COMPRESSIBLE and stat.st_size >= MIN_COMPRESS_SIZE:
            coding = chosen_coding(request.headers.get("accept-encoding", ""), tuple(CODINGS))
            packed = coding and compressed(path, stat.st_mtime_ns, stat.st_size, coding)
        etag = f'"{version}-{coding}"' if packed is not None else f'"{version}"'
        headers = {"ETag": etag, "Cache-Control": cache_control, "Vary": "Accept-Encoding"}
        if_none_match = request.headers.get("if-none-match", "")
        if etag in if_none_match or if_none_match.strip() == "*":  # `*`: whichever version the client holds
            return Response(status_code=304, headers=headers)
        if packed is None:
            return FileResponse(path, media_type=kind, headers=headers, stat_result=stat)
        body = b"" if request.method == "HEAD" else packed
        response = Response(body, media_type=kind, headers={**headers, "Content-Encoding": coding})
        response.headers["Content-Length"] = str(len(packed))
        return response


class AssetMounts:
    """One URL space over several folders, each mounted at a prefix of it: a path is the first mounted folder's that
    holds it (/static/ serves the widget's package and the pages' files side by side, as one flat folder once did)."""

    def __init__(self, *mounts: tuple[str, AssetFolder]) -> None:
        self.mounts = mounts

    def response(self, request: Request, relative: str, cache_control: str = CACHE_CONTROL) -> Response:
        """The file at `relative` from the first folder that holds it, as `AssetFolder.response` sends it; else 404."""
        for prefix, folder in self.mounts:
            inside = relative.removeprefix(prefix)
            if relative.startswith(prefix) and folder.holds(inside):
                return folder.response(request, inside, cache_control)
        raise HTTPException(status_code=404)
