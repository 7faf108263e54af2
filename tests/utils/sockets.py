"""What a server process has really accepted, read from the kernel (Linux /proc).

A client's `connect()` returns as soon as the kernel has queued the connection; the server may not
have accepted it yet. A test that signals a server "while requests are in flight" must wait until
the server holds those connections itself, or under load it races the listener's close and the
client sees a refused or reset connection that says nothing about the server's drain.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

_ESTABLISHED = "01"


def accepted_connections(pid: int, port: int) -> int:
    """Established TCP connections on local `port` whose socket is an open file of process `pid`."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        path = Path(table)
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if local_port == port and fields[3] == _ESTABLISHED and fields[9] != "0":
                inodes.add(fields[9])
    held = 0
    fd_dir = Path(f"/proc/{pid}/fd")
    for fd in fd_dir.iterdir():
        try:
            target = os.readlink(fd)
        except OSError:  # closed while we looked
            continue
        if target.startswith("socket:[") and target[8:-1] in inodes:
            held += 1
    return held


def wait_for_accepted_connections(pid: int, port: int, count: int, timeout: float = 30.0) -> None:
    """Return once process `pid` holds `count` connections on `port`; fail after `timeout`."""
    deadline = time.monotonic() + timeout
    seen = 0
    while time.monotonic() < deadline:
        seen = accepted_connections(pid, port)
        if seen >= count:
            return
        time.sleep(0.02)
    raise AssertionError(f"the server accepted {seen} of {count} connections within {timeout} s")
