"""A loopback TikTok stand-in that counts arrivals and can enforce N requests per window."""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import threading
import time
import urllib.request
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CONTROL = "/_control/"
ADMIT_HEADER = "X-Bench-Admit"
_OK_BODY = b'{"data":{},"error":{"code":"ok","message":"","log_id":"bench"}}'
_REFUSED_BODY = (
    b'{"data":{},"error":{"code":"rate_limit_exceeded",'
    b'"message":"Too many requests, please retry later.","log_id":"bench"}}'
)
# Arrival logs are kept for window analysis; past this many they stop growing so a
# long overhead run cannot eat memory.
_MAX_RECORDED = 200_000


class _Limiter:
    """The server's own rule: a sliding log of accepted arrivals on the monotonic clock."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.configure(None, 1.0, True, True)

    def configure(self, limit: int | None, window: float, retry_after: bool, record: bool) -> None:
        with self.lock:
            self.limit = limit
            self.window = window
            self.retry_after = retry_after
            self.record = record
            self.accepted: deque[float] = deque()
            # (monotonic arrival, wall arrival, status, client's (stamp, error) or None)
            self.arrivals: list[tuple[float, float, int, tuple[float, ...] | None]] = []
            self.ok = 0
            self.refused = 0

    def arrive(
        self, mono: float, wall: float, admit: tuple[float, ...] | None
    ) -> tuple[int, int | None]:
        """Status for an arrival at ``mono``, and the Retry-After seconds to send with a 429."""
        with self.lock:
            status, wait = 200, None
            if self.limit is not None:
                log = self.accepted
                while log and log[0] <= mono - self.window:
                    log.popleft()
                if len(log) >= self.limit:
                    status = 429
                    if self.retry_after:
                        wait = max(1, math.ceil(log[0] + self.window - mono))
                else:
                    log.append(mono)
            if status == 200:
                self.ok += 1
            else:
                self.refused += 1
            if self.record and len(self.arrivals) < _MAX_RECORDED:
                self.arrivals.append((mono, wall, status, admit))
            return status, wait

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {"ok": self.ok, "refused": self.refused, "arrivals": list(self.arrivals)}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle on, the second waits for the
    # client's delayed ACK and every request takes 40 ms.
    disable_nagle_algorithm = True
    server: _Server

    def _answer(self) -> None:
        # Stamped before the body is read: the server counts a request when it arrives.
        mono, wall = time.monotonic(), time.time()
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.path.startswith(CONTROL):
            self._control(body)
            return
        # "stamp error": the client's admission moment and how far off it may be.
        stamp = self.headers.get(ADMIT_HEADER)
        admit = tuple(float(x) for x in stamp.split()) if stamp else None
        status, wait = self.server.limiter.arrive(mono, wall, admit)
        payload = _OK_BODY if status == 200 else _REFUSED_BODY
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        if wait is not None:
            self.send_header("Retry-After", str(wait))
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _control(self, body: bytes) -> None:
        limiter = self.server.limiter
        if self.path.startswith(CONTROL + "reset"):
            cfg = json.loads(body or b"{}")
            limiter.configure(
                cfg.get("limit"),
                float(cfg.get("window", 1.0)),
                bool(cfg.get("retry_after", True)),
                bool(cfg.get("record", True)),
            )
            payload = b"{}"
        else:
            payload = json.dumps(limiter.snapshot()).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = _answer

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.limiter = _Limiter()


@dataclass
class Arrivals:
    """What the server saw since the last reset."""

    ok: int
    refused: int
    # (monotonic arrival, wall arrival, status, admission (stamp, error) or None)
    log: list[tuple[float, float, int, Any]] = field(default_factory=list)

    def stamped(self) -> list[tuple[float, float, int, tuple[float, float]]]:
        """The arrivals that carried an admission stamp, with it as (stamp, error)."""
        return [(m, w, s, (a[0], a[1] if len(a) > 1 else 0.0)) for m, w, s, a in self.log if a]

    def max_in_window(self, window: float, accepted_only: bool = False) -> int:
        """The most arrivals that fell in any window of ``window`` seconds."""
        times = sorted(t for t, _, s, _ in self.log if s == 200 or not accepted_only)
        best, lo = 0, 0
        for hi, t in enumerate(times):
            while times[lo] <= t - window:
                lo += 1
            best = max(best, hi - lo + 1)
        return best


class ServerHandle:
    """A running server (thread or child process) and its control calls."""

    def __init__(self, port: int, process: subprocess.Popen[str] | None, server: Any) -> None:
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}/"
        self._process = process
        self._server = server

    def _call(self, path: str, payload: dict[str, Any] | None = None) -> Any:
        data = json.dumps(payload).encode() if payload is not None else None
        req = urllib.request.Request(self.base_url + CONTROL.strip("/") + "/" + path, data=data)
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read())

    def reset(
        self,
        limit: int | None = None,
        window: float = 1.0,
        *,
        retry_after: bool = True,
        record: bool = True,
    ) -> None:
        """Forget every arrival; from now on enforce ``limit`` per ``window`` (None: never)."""
        self._call(
            "reset",
            {"limit": limit, "window": window, "retry_after": retry_after, "record": record},
        )

    def arrivals(self) -> Arrivals:
        snap = self._call("stats")
        return Arrivals(snap["ok"], snap["refused"], [tuple(a) for a in snap["arrivals"]])

    def close(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=5)
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> ServerHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def start(in_process: bool = False) -> ServerHandle:
    """Start a server on a free loopback port, by default in a child process.

    A child process keeps the server's CPU out of the benchmark's GIL, which matters
    on a machine with few cores.
    """
    if in_process:
        server = _Server()
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return ServerHandle(server.server_address[1], None, server)
    process = subprocess.Popen(
        [sys.executable, __file__],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        bufsize=1,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("PORT "):
        process.kill()
        raise RuntimeError(f"benchmark server did not start: {line!r}")
    return ServerHandle(int(line.split()[1]), process, None)


def _main() -> None:
    argparse.ArgumentParser(description=__doc__).parse_args()
    server = _Server()

    def orphaned() -> None:
        # The parent holds our stdin; when it dies, however it dies, stdin closes.
        sys.stdin.read()
        server.shutdown()

    threading.Thread(target=orphaned, daemon=True).start()
    print(f"PORT {server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    _main()
