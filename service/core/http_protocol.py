"""uvicorn's httptools protocol with the two limits it lacks (issue 23).

1. A request head (request line and headers) may be at most `max_request_head_bytes`; beyond it
   the connection is answered `431 Request Header Fields Too Large` and closed. uvicorn's
   httptools protocol has no such limit (only its h11 protocol has one,
   `h11_max_incomplete_event_size`), and httptools gathers a header value in memory until it is
   complete: a 32 MiB header was read whole and answered 200. Bytes are counted read by read
   while a head is incomplete, so memory stays bounded whatever the header's size.
2. An answer may wait at most `write_timeout_seconds` on a client that does not read (the
   transport's buffer stays above its high-water mark all that time); then the connection is
   aborted. Without it a slow reader pins its request's task and buffers for as long as it likes.

It also tells the request being answered when its client leaves (uvicorn tells only the last
pipelined one; see `connection_lost`).

httptools stays (it parses several times faster than h11 on the api's hot path); both limits are
a few lines over its callbacks.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn._types import ASGI3Application
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle
from uvicorn.server import ServerState

_431 = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
    b"content-type: text/plain; charset=utf-8\r\n"
    b"connection: close\r\n"
    b"content-length: 45\r\n\r\n"
    b"request headers too large; send smaller ones\n"
)


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    # Set by `configure` before the server starts (uvicorn builds the protocol from its class).
    max_head_bytes = 64 * 1024
    write_timeout_seconds = 30.0

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._in_head = True  # until the parser has seen the end of this request's headers
        self._head_bytes = 0
        self._refused = False
        self._write_deadline: asyncio.TimerHandle | None = None
        self._running_cycle: RequestResponseCycle | None = None

    # --- the head limit ---------------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        super().data_received(data)
        if self._in_head and not self.transport.is_closing():
            # Still inside a head after this read: count the whole read. Counting after the
            # parser has it bounds memory to the limit plus one read (64 KiB), and a request
            # whose head ends in this read is never counted, so a large body arriving with its
            # head is not mistaken for a large head. (A head split across reads may be
            # over-counted by what preceded it in its first read; the limit leaves room.)
            self._head_bytes += len(data)
            if self._head_bytes > self.max_head_bytes:
                self._refuse_head()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True
        self._head_bytes = 0

    def on_headers_complete(self) -> None:
        self._in_head = False
        super().on_headers_complete()

    def _refuse_head(self) -> None:
        self._refused = True  # the rest of this connection's bytes are dropped unread
        self.logger.info(
            "request head over the limit; answered 431",
            extra={"limit_bytes": self.max_head_bytes, "client": (self.client or ("-",))[0]},
        )
        self.transport.write(_431)
        self.transport.close()

    # --- the write timeout ------------------------------------------------------------------------

    def pause_writing(self) -> None:
        super().pause_writing()
        if self._write_deadline is None:
            self._write_deadline = self.loop.call_later(
                self.write_timeout_seconds, self._abort_stuck_writer
            )

    def resume_writing(self) -> None:
        super().resume_writing()
        self._cancel_write_deadline()

    # --- a disconnect reaches the request being answered ------------------------------------------

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: ASGI3Application) -> None:
        self._running_cycle = cycle
        super()._start_asgi_task(cycle, app)

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_write_deadline()
        # uvicorn tells only `self.cycle` of a lost connection, which is the last request
        # *parsed*: with pipelined requests that is a queued one, and the request being answered
        # never learns that its client left (its end is then logged at ERROR as "ASGI callable
        # returned without completing response"). Tell the running one too.
        running = self._running_cycle
        if running is not None and not running.response_complete:
            running.disconnected = True
            running.message_event.set()
        super().connection_lost(exc)

    def _cancel_write_deadline(self) -> None:
        if self._write_deadline is not None:
            self._write_deadline.cancel()
            self._write_deadline = None

    def _abort_stuck_writer(self) -> None:
        self._write_deadline = None
        self.logger.info(
            "client did not read its answer in time; connection dropped",
            extra={"write_timeout_seconds": self.write_timeout_seconds},
        )
        self.transport.abort()  # close() would wait for the buffer to drain: it never does


def configure(*, max_head_bytes: int, write_timeout_seconds: float) -> type[HttpToolsProtocol]:
    """The protocol class with these limits (a subclass, so tests can run several servers)."""
    return type(
        "LimitedHttpToolsProtocol",
        (LimitedHttpToolsProtocol,),
        {"max_head_bytes": max_head_bytes, "write_timeout_seconds": write_timeout_seconds},
    )
