"""A fleet of worker processes calling a loopback server through the adapter, for failovers.

Each worker process runs threads that call as fast as the adapter admits them (refusals
are raised, not slept through, so every call's duration is the adapter's own), and
records every call: when it started, how long it took, how it ended, and whether the
store was on its in-process fallback afterwards. The server stamps every arrival with
the process that sent it. Times are CLOCK_MONOTONIC, which all processes share.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests

PATH = "/v2/user/info/"
LIMIT = 10  # per PERIOD, for the whole fleet
PERIOD = 1.0
# A little more than a loopback arrival's jitter, so arrivals count in the window the
# adapter admitted them in.
MARGIN = 0.1


@dataclass(frozen=True)
class Call:
    worker: int
    start: float
    seconds: float
    outcome: str  # "ok", or the exception's class name
    in_package: bool  # the exception is one of tiktok_adapter's
    degraded: bool


class ArrivalServer:
    """A loopback HTTP server that answers 200 and stamps each arrival by worker."""

    def __init__(self) -> None:
        self.arrivals: list[tuple[float, int]] = []
        arrivals = self.arrivals

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive: no connection per call
            disable_nagle_algorithm = True  # headers and body leave at once

            def do_GET(self) -> None:
                arrivals.append((time.monotonic(), int(self.headers.get("X-Worker", "-1"))))
                body = b'{"data": {}}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            # The default backlog of 5 drops connections under a fleet, and a dropped SYN
            # costs a 1 s retransmit that would read as a slow adapter.
            request_queue_size = 256
            daemon_threads = True

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}{PATH}"

    @contextmanager
    def serving(self) -> Iterator[ArrivalServer]:
        thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.httpd.shutdown()
            self.httpd.server_close()


def work(spec: dict[str, Any]) -> list[Call]:
    """One worker process: ``threads`` callers from ``start_at`` until ``stop_at``."""
    from tiktok_adapter import TikTokAdapter, TikTokAdapterError, mount

    adapter = TikTokAdapter(
        storage_uri=spec["uri"],
        key_prefix=spec["prefix"],
        on_limit="raise",
        on_storage_error=spec["mode"],
        limits={"/user/info/": f"{LIMIT}/second"},
        app_limit=None,
        safety_margin=MARGIN,
        default_priority="critical",  # the whole window; priorities are tested elsewhere
    )
    calls: list[Call] = []
    lock = threading.Lock()

    def caller() -> None:
        session = requests.Session()
        mount(session, adapter, base_url=spec["base_url"])
        while time.monotonic() < spec["start_at"]:
            time.sleep(0.01)
        while time.monotonic() < spec["stop_at"]:
            started = time.monotonic()
            outcome, ours = "ok", True
            try:
                response = session.get(spec["url"], headers={"X-Worker": str(spec["worker"])},
                                       timeout=10)  # fmt: skip
                if response.status_code != 200:
                    outcome = f"status {response.status_code}"
            except Exception as exc:  # every ending is counted, none is lost
                outcome, ours = type(exc).__name__, isinstance(exc, TikTokAdapterError)
            took = time.monotonic() - started
            degraded = bool(getattr(adapter.store, "degraded", False))
            with lock:
                calls.append(Call(spec["worker"], started, took, outcome, ours, degraded))
            if outcome != "ok":
                time.sleep(0.02)  # a refused caller tries again soon, not in a hot loop

    threads = [threading.Thread(target=caller) for _ in range(spec["threads"])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    adapter.close()
    return calls


def run_fleet(
    uri: str, prefix: str, mode: str, url: str, start_at: float, stop_at: float,
    processes: int = 4, threads: int = 2,
) -> concurrent.futures.Future[list[list[Call]]]:  # fmt: skip
    """Start the fleet now (its calls begin at ``start_at``); the future holds every call."""
    pool = concurrent.futures.ProcessPoolExecutor(
        max_workers=processes, mp_context=multiprocessing.get_context("spawn")
    )
    base_url = url.split("/v2/", 1)[0] + "/"
    common = dict(uri=uri, prefix=prefix, mode=mode, url=url, base_url=base_url, start_at=start_at,
                  stop_at=stop_at, threads=threads)  # fmt: skip
    specs = [{**common, "worker": i} for i in range(processes)]
    futures = [pool.submit(work, spec) for spec in specs]
    result: concurrent.futures.Future[list[list[Call]]] = concurrent.futures.Future()

    def gather() -> None:
        try:
            result.set_result([f.result(timeout=stop_at - time.monotonic() + 60) for f in futures])
        except BaseException as exc:
            result.set_exception(exc)
        finally:
            pool.shutdown(wait=True)

    threading.Thread(target=gather, daemon=True).start()
    return result


def most_in_a_window(stamps: list[float], period: float, since: float = float("-inf"),
                     until: float = float("inf")) -> int:  # fmt: skip
    """The most stamps in any window [t, t + period) that starts at or after ``since`` and
    ends by ``until``; windows start at a stamp, where the most can begin."""
    stamps = sorted(stamps)
    most, hi = 0, 0
    for lo, t in enumerate(stamps):
        if t < since or t + period > until:
            continue
        hi = max(hi, lo)
        while hi < len(stamps) and stamps[hi] < t + period:
            hi += 1
        most = max(most, hi - lo)
    return most


def admitted_through(stamps_of: Callable[[], list[float]], promoted: float, until: float) -> bool:
    """Whether the master that took over holds an admission stamped after ``promoted``
    (a monotonic moment), looked for while the fleet still runs, until ``until``: a
    window's list expires PERIOD + MARGIN after its last admission, so once the fleet has
    stopped it may be gone before anyone reads it."""
    after = time.time() - (time.monotonic() - promoted)  # the same moment on Redis's clock
    while True:
        if any(s > after for s in stamps_of()):
            return True
        if time.monotonic() >= until:
            return False
        time.sleep(0.1)


PROCESSES = 4
# What the store promises per call: its socket timeout (1 s) plus one retry backoff
# (0.1 s), README "Several workers"; with 0.5 s of slack for a loaded two-core machine.
LONGEST_CALL = 1.0 + 0.1 + 0.5
WARM_UP = 3.0  # before the kill: every process on Redis, windows shared
RUN = 14.0  # the kill, the promotion (2 to 4 s), 5 s on the fallback, then Redis again


def check_calls(calls: list[Call], arrivals: list[tuple[float, int]]) -> Counter[str]:
    """What holds in both modes: no call hung, none was lost, no foreign exception."""
    outcomes = Counter(c.outcome for c in calls)
    assert calls and outcomes["ok"] > 0
    longest = max(calls, key=lambda c: c.seconds)
    assert longest.seconds <= LONGEST_CALL, f"a call hung {longest.seconds:.2f} s: {longest}"
    foreign = Counter(c.outcome for c in calls if c.outcome != "ok" and not c.in_package)
    assert not foreign, f"exceptions from outside the package: {foreign}"
    assert outcomes["ok"] == len(arrivals), (outcomes, len(arrivals))
    return outcomes
