"""The headers every response carries, errors included: COOP + COEP for onnxruntime-web's wasm threads, CORP and
CORS on the widget's public files for host pages on other origins, and a CSP that keeps other scripts out. The CSP
is no wall around the camera picture (WebRTC, navigations): the widget's code keeps frames in the browser.
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
`widget_origin` (/embed): its scripts, models and runtime from there, its worker and threads from a blob:, and
onnxruntime-web's WebAssembly ('wasm-unsafe-eval')."""

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
