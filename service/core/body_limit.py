"""A cap on request bodies, enforced while they stream in (a plain ASGI middleware).

Without it a 30 MiB JSON body is read and parsed whole before validation refuses it, once per
request, by anyone. Here a declared `Content-Length` above the cap is refused before a byte of
the body is read, and a body without one (chunked) is counted as it arrives and refused the
moment it passes the cap; either way the answer is 413 in the usual error shape.

It works through the one door every body comes in by, `receive`: the app asks for the body, and
the first chunk past the cap raises HTTPException(413), which FastAPI lets through its body
parsing (JSON and forms alike) to the error handlers. A route that never reads its body is
unaffected, and nothing is buffered here.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodySizeLimitMiddleware:
    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            if declared is not None and declared > self.max_bytes:
                raise self._too_large()  # before reading anything
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise self._too_large()
            return message

        await self.app(scope, limited_receive, send)

    def _too_large(self) -> HTTPException:
        return HTTPException(
            413,
            f"the request body is larger than {self.max_bytes} bytes, the most this API reads; "
            "send a smaller one",
        )


def _content_length(scope: Scope) -> int | None:
    for key, value in scope["headers"]:
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server refuses a malformed length before the app sees it
    return None
