"""Which responses are compressed, and how: the widget's files compress themselves (webapp.assets, `chosen_coding`);
Starlette's GZipMiddleware gzips the pages, deciding by `accepts_gzip` (on its own it takes `gzip;q=0`, a refusal,
as a yes)."""

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


def chosen_coding(accept_encoding: str, offered: tuple[str, ...]) -> str | None:
    """The content coding to answer this Accept-Encoding with, of `offered` (the server's preference first), or None
    for none: named (or covered by `*`) with the highest q-value above 0, and not ranked below identity where
    identity is named (unnamed, identity is only the fallback)."""
    q = _q_values(accept_encoding)
    aliases = {"gzip": ("gzip", "x-gzip")}
    best, best_q = None, 0.0
    for coding in offered:
        coding_q = next((q[name] for name in aliases.get(coding, (coding,)) if name in q), q.get("*", 0.0))
        if coding_q > best_q:
            best, best_q = coding, coding_q
    return best if best is not None and best_q >= q.get("identity", 0.0) else None


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether gzip is the answer to this Accept-Encoding, when it is the only coding offered."""
    return chosen_coding(accept_encoding, ("gzip",)) == "gzip"


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
