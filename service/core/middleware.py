"""Request id and access log as a plain ASGI middleware (cheaper than BaseHTTPMiddleware).

The id comes from `X-Request-ID` when a caller (CloudFront, the ALB, another service) sent a
safe one, else a new one; it is echoed in the response and attached to every log line. Safe means
1-128 characters of [A-Za-z0-9._-], matched whole: anything else (a line break, a quote, markup,
a colon that log parsers split on) is the caller's text and is neither echoed nor logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.core.errors import internal_error_response, log_unexpected
from service.core.logs import request_id_var

access_log = logging.getLogger("service.access")
_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")  # fullmatch: "$" would allow "id\n"
_QUIET_PATHS = frozenset({"/healthz", "/readyz"})  # probed every few seconds: debug level


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = _header(scope, b"x-request-id")
        safe = incoming is not None and _SAFE_REQUEST_ID.fullmatch(incoming) is not None
        request_id = incoming if safe and incoming else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        started_response = False
        client_gone = False

        async def send_tracking(message: Message) -> None:
            nonlocal started_response, client_gone
            started_response = started_response or message["type"] == "http.response.start"
            if client_gone:
                return
            try:
                await send_with_id(message)
            except (OSError, RuntimeError) as exc:
                if not _transport_closed(exc):
                    raise
                # The client hung up while its answer was being written: its business, not an
                # error of ours. uvicorn itself ignores sends after a disconnect it has noticed;
                # this is the moment before it noticed (uvloop then raises from the write).
                # Dropped like those, logged at info: any client could otherwise fill the
                # error log with tracebacks (issue 23).
                client_gone = True
                access_log.info("client disconnected before its answer was written")

        try:
            await self.app(scope, receive, send_tracking)
            if client_gone:
                await _until_server_sees_the_disconnect(receive)
        except Exception as exc:
            # Handled here rather than by Starlette's outermost error middleware, which runs
            # after this one has left: here the log line and the answer still carry the id.
            log_unexpected(scope, exc)
            if started_response:
                raise
            status = 500
            await internal_error_response()(scope, receive, send_with_id)
        finally:
            path = scope["path"]
            access_log.log(
                logging.DEBUG if path in _QUIET_PATHS else logging.INFO,
                "request",
                extra={
                    "method": scope["method"],
                    "path": path,
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    "client": (scope.get("client") or ("-",))[0],
                },
            )
            request_id_var.reset(token)


async def _until_server_sees_the_disconnect(receive: Receive) -> None:
    """Return only once the server knows the client is gone. Returning earlier, with the answer
    unfinished, makes uvicorn log "ASGI callable returned without completing response" at
    ERROR; its `receive` answers `http.disconnect` as soon as it has noticed (a moment later)."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(1.0):
            while (await receive())["type"] != "http.disconnect":
                pass


def _transport_closed(exc: BaseException) -> bool:
    # uvloop: RuntimeError("unable to perform operation on <TCPTransport closed=True ...>; the
    # handler is closed"); asyncio's own loop: ConnectionResetError / BrokenPipeError.
    if isinstance(exc, ConnectionError):
        return True
    return isinstance(exc, RuntimeError) and "handler is closed" in str(exc)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None
