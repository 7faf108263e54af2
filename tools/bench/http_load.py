"""A closed-loop HTTP load: N keep-alive connections, each sending its next request as soon as
the previous answer is read, for a fixed time after a warm-up.

`http.client` in threads rather than httpx: it costs a fraction of the CPU per request, and on a
two-core machine every cycle the client burns is one the server under test does not get. The
same client measures the baseline and the endpoints, so what it costs cancels out in the ratio.
"""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from tools.rehearsal.results import percentile


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)


# Builds the next request of one connection: (connection index, sequence number) -> Request.
RequestFactory = Callable[[int, int], Request]


@dataclass(frozen=True)
class LoadResult:
    name: str
    requests: int  # answered with the expected status inside the measured window
    errors: int  # wrong status or connection error inside the window
    seconds: float
    p50_ms: float  # of the answers with the expected status
    p99_ms: float
    client_cpu_seconds: float = 0.0  # what the load generator itself burnt (both cores count)
    server_cpu_seconds: float = 0.0  # what the server process burnt meanwhile, where measured

    @property
    def server_cpu_ms_per_request(self) -> float:
        return self.server_cpu_seconds / self.requests * 1000 if self.requests else 0.0

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0


def run_closed_loop(
    name: str,
    *,
    port: int,
    make_request: RequestFactory,
    expected_status: int,
    concurrency: int,
    seconds: float,
    warmup_seconds: float = 1.0,
) -> LoadResult:
    started = time.monotonic()
    window_start = started + warmup_seconds
    window_end = window_start + seconds
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    errors = [0] * concurrency

    def connection(index: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        sequence = 0
        while True:
            sent = time.monotonic()
            if sent >= window_end:
                break
            request = make_request(index, sequence)
            sequence += 1
            try:
                conn.request(request.method, request.path, request.body, request.headers)
                response = conn.getresponse()
                response.read()
                ok = response.status == expected_status
            except (OSError, http.client.HTTPException):
                ok = False
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            if sent >= window_start:  # only requests sent inside the window count
                if ok:
                    latencies[index].append((time.monotonic() - sent) * 1000)
                else:
                    errors[index] += 1
        conn.close()

    cpu_before = time.process_time()  # this process's CPU, every thread: the client's cost
    threads = [threading.Thread(target=connection, args=(i,)) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    merged = sorted(value for per_connection in latencies for value in per_connection)
    return LoadResult(
        name=name,
        requests=len(merged),
        errors=sum(errors),
        # Requests sent just before the window's end finish after it: count the time they took.
        seconds=max(time.monotonic(), window_end) - window_start,
        p50_ms=percentile(merged, 50),
        p99_ms=percentile(merged, 99),
        client_cpu_seconds=time.process_time() - cpu_before,
    )
