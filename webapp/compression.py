"""Which responses are gzipped. The widget's files compress themselves (webapp.assets: once per file version, kept,
with an ETag per encoding); Starlette's GZipMiddleware compresses the rest, the pages. Both go by `accepts_gzip`:
the middleware on its own takes any Accept-Encoding that mentions gzip, `gzip;q=0` (a refusal) included."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send


def _q_values(accept_encoding: str) -> dict[str, float]:
    """Each coding in an Accept-Encoding header with its q-value (RFC 9110 12.5.3); a malformed one is 0."""
    codings = {}
    for item in accept_encoding.split(","):
        name, *params = (part.strip() for part in item.split(";"))
        if not name:
            continue
        q = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        codings[name.lower()] = q if 0.0 <= q <= 1.0 else 0.0
    return codings


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether gzip is the answer to this Accept-Encoding: named (or covered by `*`) with a q-value above 0, and not
    ranked below identity where identity is named (unnamed, identity is only the fallback)."""
    q = _q_values(accept_encoding)
    gzip_q = q.get("gzip", q.get("x-gzip", q.get("*", 0.0)))
    return gzip_q > 0.0 and gzip_q >= q.get("identity", 0.0)


class PageGZip:
    """Starlette's GZipMiddleware for every path but those under `exclude` (the asset folders, whose responses would
    otherwise be compressed again, or streamed compressed under an identity ETag), deciding by `accepts_gzip`
    through the request's Accept-Encoding alone (no Starlette internals)."""

    def __init__(self, app: ASGIApp, exclude: tuple[str, ...], minimum_size: int, compresslevel: int) -> None:
        self.app, self.exclude = app, exclude
        self.gzip = GZipMiddleware(app, minimum_size=minimum_size, compresslevel=compresslevel)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.exclude):
            await self.app(scope, receive, send)
            return
        # the middleware sees "gzip" when gzip is the answer (`*` included) and no Accept-Encoding when it is not
        headers = [(k, v) for k, v in scope["headers"] if k.lower() != b"accept-encoding"]
        if accepts_gzip(Headers(scope=scope).get("accept-encoding", "")):
            headers.append((b"accept-encoding", b"gzip"))
        await self.gzip({**scope, "headers": headers}, receive, send)
