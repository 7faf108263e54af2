"""Security headers on every answer the app gives (a plain ASGI middleware, like the others).

On AWS, CloudFront's managed SecurityHeadersPolicy adds its own on the way out (that stays); these
hold wherever the app is reached (the ALB directly, `make dev`, tests) and say more for an API:

- `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer`, `X-Frame-Options: DENY`.
- `Content-Security-Policy`: a JSON answer is never a document, so it gets `default-src 'none'`
  (nothing loads, nothing runs, even if a browser were tricked into rendering one). The docs pages
  (Swagger UI, ReDoc) are FastAPI's HTML, which loads its bundle from jsDelivr and starts it with
  an inline script: they get a policy allowing exactly that. Other HTML (web/, served here only
  by `make dev`) carries its own policy in a <meta> tag; the header adds what a <meta> cannot,
  `frame-ancestors`.
- `Cache-Control: no-store` on every /api answer that did not choose its own: they are per user
  (orders, tokens) and must not be kept by a browser or a shared cache.
"""

from __future__ import annotations

from fastapi import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

COMMON = {
    b"x-content-type-options": b"nosniff",
    b"referrer-policy": b"no-referrer",
    b"x-frame-options": b"DENY",
}
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
DOCS_CSP = (
    "default-src 'none'; "
    "script-src 'self' https://cdn.jsdelivr.net 'unsafe-inline'; "  # the bundle, its inline start
    "style-src 'self' https://cdn.jsdelivr.net https://fonts.googleapis.com 'unsafe-inline'; "
    "font-src https://fonts.gstatic.com; "
    "img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly; "
    "connect-src 'self'; "  # /openapi.json and "Try it out"
    "worker-src 'self' blob:; "  # ReDoc's search worker
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
PAGE_CSP = "frame-ancestors 'none'"  # web/index.html sets the rest in its own <meta> policy
NO_STORE = b"no-store"


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, *, docs_paths: frozenset[str], api_prefix: str) -> None:
        self.app = app
        self.docs_paths = docs_paths
        self.api_prefix = api_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {key.lower() for key, _ in headers}
                added = dict(COMMON)
                added[b"content-security-policy"] = self._policy(path, headers).encode()
                if path.startswith(self.api_prefix):
                    added[b"cache-control"] = NO_STORE
                headers += [(key, value) for key, value in added.items() if key not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _policy(self, path: str, headers: list[tuple[bytes, bytes]]) -> str:
        if path in self.docs_paths:
            return DOCS_CSP
        content_type = next((v for k, v in headers if k.lower() == b"content-type"), b"")
        return PAGE_CSP if content_type.startswith(b"text/html") else API_CSP


def no_store(response: Response) -> None:
    """RFC 6749 section 5.1: a response carrying tokens says `Cache-Control: no-store` and
    `Pragma: no-cache` itself (a dependency of the auth router), whatever middleware runs."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
