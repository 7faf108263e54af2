"""The load generator of `make bench`: wrk, driven by a generated Lua script.

wrk is C on an event loop: on this two-core machine it needs a fraction of the CPU the Python
client (`tools/bench/http_load.py`) needs per request, so the server, not the client, sets the rate
(`make bench` measures both clients against the bare route to show it). The Lua script cycles
through the scenario's requests (one per bench user, so each carries its own bearer token),
replaces `{n}` in headers and bodies with a value unique in the whole run (idempotency keys,
titles), counts every answer whose status is not the expected one, and prints the figures as
one JSON line.
"""

from __future__ import annotations

import json
import os
import resource
import secrets
import shutil
import subprocess
import tempfile
from dataclasses import replace
from pathlib import Path

from tools.bench.http_load import LoadResult, Request

INSTALL_HINT = (
    "wrk is not installed: run `bash scripts/install-system-deps.sh` once (Debian/Ubuntu: "
    "`apt-get install wrk`; macOS: `brew install wrk`), then `make bench` again"
)
RESULT_MARK = "WRK_RESULT "

_SCRIPT = """
local requests = %(requests)s
local nonce = "%(nonce)s"
local expected = %(expected)d
local threads = {}
local next_id = 1

function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  counter = 0
  unexpected = 0
end

function request()
  counter = counter + 1
  local r = requests[(counter %% #requests) + 1]
  local n = nonce .. "-" .. tid .. "-" .. counter
  local headers = {}
  for name, value in pairs(r.headers) do
    headers[name] = (value:gsub("{n}", n))
  end
  local body = nil
  if r.body then body = (r.body:gsub("{n}", n)) end
  return wrk.format(r.method, r.path, headers, body)
end

function response(status, headers, body)
  if status ~= expected then unexpected = unexpected + 1 end
end

function done(summary, latency, requests)
  local wrong = 0
  for _, thread in ipairs(threads) do wrong = wrong + thread:get("unexpected") end
  local e = summary.errors
  io.write(string.format(
    '%(mark)s{"requests": %%d, "duration_us": %%d, "wrong_status": %%d, "socket_errors": %%d, '
    .. '"p50_us": %%d, "p99_us": %%d}\\n',
    summary.requests, summary.duration, wrong, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


class WrkMissingError(RuntimeError):
    def __init__(self) -> None:
        super().__init__(INSTALL_HINT)


def wrk_path() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise WrkMissingError
    return path


def _lua_string(value: str) -> str:
    if not value.isascii():  # JSON's \uXXXX escapes are not Lua's
        raise ValueError(f"wrk scenario text must be ASCII: {value!r}")
    return json.dumps(value)  # an ASCII JSON string literal is a valid Lua string literal


def lua_script(requests: list[Request], expected_status: int, nonce: str) -> str:
    entries = []
    for r in requests:
        headers = ", ".join(
            f"[{_lua_string(k)}] = {_lua_string(v)}" for k, v in sorted(r.headers.items())
        )
        body = _lua_string(r.body.decode()) if r.body is not None else "nil"
        entries.append(
            f"{{method = {_lua_string(r.method)}, path = {_lua_string(r.path)}, "
            f"headers = {{{headers}}}, body = {body}}}"
        )
    return _SCRIPT % {
        "requests": "{\n  " + ",\n  ".join(entries) + "\n}",
        "nonce": nonce,
        "expected": expected_status,
        "mark": RESULT_MARK,
    }


def parse_output(name: str, output: str, *, client_cpu_seconds: float = 0.0) -> LoadResult:
    line = next((ln for ln in output.splitlines() if ln.startswith(RESULT_MARK)), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result line:\n{output[-2000:]}")
    figures = json.loads(line[len(RESULT_MARK) :])
    wrong = figures["wrong_status"] + figures["socket_errors"]
    return LoadResult(
        name=name,
        requests=max(figures["requests"] - figures["wrong_status"], 0),
        errors=wrong,
        seconds=figures["duration_us"] / 1e6,
        p50_ms=figures["p50_us"] / 1000,
        p99_ms=figures["p99_us"] / 1000,
        client_cpu_seconds=client_cpu_seconds,
    )


def run_wrk(
    name: str,
    *,
    url: str,
    requests: list[Request],
    expected_status: int,
    concurrency: int,
    seconds: float,
    threads: int = 2,
    warmup_seconds: float = 1.0,
    server_pid: int | None = None,
) -> LoadResult:
    """`wrk -t{threads} -c{concurrency} -d{seconds}` after a warm-up run that is not counted.

    With `server_pid`, the CPU that process used during the measured run is recorded too: CPU
    per request is a cost the other processes on a shared machine barely change, unlike a rate.
    """
    if not requests:
        raise ValueError("no requests to send")
    wrk = wrk_path()
    threads = max(1, min(threads, concurrency))
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as folder:

        def run(duration: int) -> str:
            # A fresh nonce per run: no two requests of a bench share an `{n}` value.
            script = Path(folder) / f"{secrets.token_hex(4)}.lua"
            script.write_text(lua_script(requests, expected_status, secrets.token_hex(6)))
            command = [wrk, f"-t{threads}", f"-c{concurrency}", f"-d{duration}s"]
            command += ["--timeout", "30s", "-s", str(script), url]
            done = subprocess.run(
                command, capture_output=True, text=True, timeout=duration + 60, check=False
            )
            if done.returncode != 0:
                raise RuntimeError(f"wrk exited {done.returncode}: {done.stderr[-2000:]}")
            return done.stdout

        if warmup_seconds > 0:
            run(max(1, round(warmup_seconds)))
        before, server_before = _children_cpu_seconds(), process_cpu_seconds(server_pid)
        output = run(max(1, round(seconds)))  # wrk takes whole seconds
        result = parse_output(name, output, client_cpu_seconds=_children_cpu_seconds() - before)
        return replace(result, server_cpu_seconds=process_cpu_seconds(server_pid) - server_before)


def process_cpu_seconds(pid: int | None) -> float:
    """User + system CPU of a running process (Linux /proc; 0 elsewhere or without a pid)."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def _children_cpu_seconds() -> float:
    """CPU used by finished child processes (wrk, once it has exited)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime
