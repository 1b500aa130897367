"""The headers every response carries.

- COOP + COEP make the pages cross-origin isolated, which onnxruntime-web needs for wasm threads (SharedArrayBuffer).
- The widget's files (/static/, /ort/) are meant to be embedded by meeting apps on other origins: they carry
  CORP cross-origin (so an isolated host page may load them) and CORS (module scripts, workers and models are
  fetched in CORS mode). They are public, credential-free files.
- The CSP lets pages run only this server's scripts and WebAssembly, and connect only to this server: the camera
  picture has nowhere to go.
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

COMMON_HEADERS = {
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "camera=(self), microphone=(), geolocation=()",
}

EMBEDDABLE_PREFIXES = ("/static/", "/ort/")
EMBEDDABLE_HEADERS = {
    "Cross-Origin-Resource-Policy": "cross-origin",
    "Access-Control-Allow-Origin": "*",
}
PAGE_HEADERS = {"Cross-Origin-Resource-Policy": "same-origin"}


class SecurityHeaders:
    """ASGI middleware: adds the headers above to every HTTP response, error pages included."""

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
