"""The headers every response carries, error responses included (`SecurityHeaders` goes outside everything, see
webapp.app).

- COOP + COEP make the pages cross-origin isolated, which onnxruntime-web needs for wasm threads (SharedArrayBuffer).
- The widget's files (/static/, /widget/{version}/) are meant to be embedded by meeting apps on other origins: they
  carry CORP cross-origin (so an isolated host page may load them) and CORS (module scripts, workers and models are
  fetched in CORS mode). They are public, credential-free files.
- The CSP lets this server's pages run only this server's scripts and WebAssembly (no inline script, no eval), start
  workers from it or from blob:, and fetch, XHR, WebSocket and EventSource only to it; forms submit only to it,
  no plugin runs, and only its own pages may frame them. That keeps an injected or third-party script out and stops
  the usual ways of sending data elsewhere, but it is not a wall around the camera picture: script already
  running in the page could still send it out over WebRTC (RTCPeerConnection, which `connect-src` does not cover:
  the /call page needs it), in the URL of a window it opens (`window.open`) or of a navigation, or through
  DNS prefetching. What keeps frames in the browser is the widget's code: frames go to its worker and nowhere else.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self' 'wasm-unsafe-eval'",
    "worker-src 'self' blob:",
    "connect-src 'self'",
    "img-src 'self' data: blob:",
    "media-src 'self' blob: mediastream:",
    "style-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'self'",
])

HOST_PAGE_CSP = ("script-src 'self' {widget_origin} blob: 'wasm-unsafe-eval'; worker-src {widget_origin} blob:; "
                 "connect-src 'self' {widget_origin}")
"""The Content-Security-Policy directives a host page on another origin needs to embed the widget from
`widget_origin` (README, /embed): its module scripts and worker from there, the worker started from a blob: (pages
may only start workers of their own origin), onnxruntime-web's WebAssembly ('wasm-unsafe-eval') and, on an isolated
page, its threads' script from a blob:; the models and the runtime fetched from there."""

COMMON_HEADERS = {
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "camera=(self), microphone=(), geolocation=()",
}

EMBEDDABLE_PREFIXES = ("/static/", "/widget/")
EMBEDDABLE_HEADERS = {
    "Cross-Origin-Resource-Policy": "cross-origin",
    "Access-Control-Allow-Origin": "*",
}
PAGE_HEADERS = {"Cross-Origin-Resource-Policy": "same-origin"}


class SecurityHeaders:
    """ASGI middleware: adds the headers above to every HTTP response that passes through it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        embeddable = scope["path"].startswith(EMBEDDABLE_PREFIXES)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in {**COMMON_HEADERS, **(EMBEDDABLE_HEADERS if embeddable else PAGE_HEADERS)}.items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
