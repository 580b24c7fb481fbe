"""A fleet of worker processes calling a loopback server through the adapter, for outages.

Each of ``PROCESSES`` worker processes runs ``THREADS`` threads that call as fast as the
adapter lets them, through an adapter on default settings (the limit sleeps, the store
falls back): only the storage URI, the key prefix and a short limit for the path are set.
Each worker records every call (when it started, how long it took, how it ended, whether
it queued behind the limit), the longest wait on the store, and when its limiter was
degraded. The server enforces exactly the limit and stamps every arrival with the process
that sent it. Times are CLOCK_MONOTONIC, which all processes share.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests

PATH = "/v2/user/info/"
LIMIT = 10  # per PERIOD, for the whole fleet
PERIOD = 1.0
PROCESSES = 4
THREADS = 4
# What the store promises per call: its socket timeout (1 s) plus one retry backoff
# (0.1 s), README "Several workers"; with 0.5 s of slack for a loaded two-core machine.
LONGEST_CALL = 1.0 + 0.1 + 0.5
# The adapter's default safety margin, and how late a queued thread may wake on a loaded
# two-core machine: a process admitting its share does so in any window this long.
MARGIN = 0.03
LATE = 0.25
# How long after the fleet's end a call may still be waiting (behind the others, or out
# a block after a 429); one still waiting then is counted as hung, and lost.
GRACE = 10.0
HUNG = "still waiting"
_REFUSED = (
    b'{"data":{},"error":{"code":"rate_limit_exceeded",'
    b'"message":"Too many requests, please retry later.","log_id":"fleet"}}'
)
_OK = b'{"data":{},"error":{"code":"ok","message":"","log_id":"fleet"}}'


@dataclass(frozen=True)
class Arrival:
    at: float
    worker: int
    status: int


class LimitServer:
    """A loopback TikTok stand-in that enforces exactly LIMIT per PERIOD: a sliding window
    over the arrivals it accepted; beyond it a 429 with TikTok's rate_limit_exceeded body."""

    def __init__(self) -> None:
        self.arrivals: list[Arrival] = []
        accepted: deque[float] = deque()
        lock = threading.Lock()
        arrivals = self.arrivals

        def arrive(worker: int) -> int:
            with lock:
                now = time.monotonic()
                while accepted and accepted[0] <= now - PERIOD:
                    accepted.popleft()
                status = 429 if len(accepted) >= LIMIT else 200
                if status == 200:
                    accepted.append(now)
                arrivals.append(Arrival(now, worker, status))
                return status

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive: no connection per call
            disable_nagle_algorithm = True  # headers and body leave at once

            def do_GET(self) -> None:
                status = arrive(int(self.headers.get("X-Worker", "-1")))
                body = _OK if status == 200 else _REFUSED
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=UTF-8")
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
    def serving(self) -> Iterator[LimitServer]:
        thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.httpd.shutdown()
            self.httpd.server_close()

    def refused(self) -> int:
        return sum(1 for a in self.arrivals if a.status == 429)


@dataclass(frozen=True)
class Call:
    worker: int
    start: float
    seconds: float
    outcome: str  # "ok", "status <code>", or the exception's class name
    in_package: bool  # the exception is one of tiktok_adapter's
    queued: bool  # the call waited for the limit (behind other calls or for a window)


@dataclass(frozen=True)
class Health:
    """The limiter's storage health from ``at`` on (stats().storage)."""

    at: float
    degraded: bool
    answering: bool
    fleet_size: int


@dataclass
class Report:
    """What one worker process saw."""

    worker: int
    calls: list[Call] = field(default_factory=list)
    health: list[Health] = field(default_factory=list)
    longest_store_call: float = 0.0

    def degraded_spans(self) -> list[tuple[float, float]]:
        """When this process's limiter was degraded (alone, or in an unsettled fleet)."""
        return self._spans(lambda h: h.degraded)

    def out_spans(self) -> list[tuple[float, float]]:
        """When this process could not reach its store (stats().storage.answering False):
        its outage, without the time the fleet takes to settle once the store answers."""
        return self._spans(lambda h: not h.answering)

    def _spans(self, where: Callable[[Health], bool]) -> list[tuple[float, float]]:
        spans, began = [], None
        for h in self.health:
            if where(h) and began is None:
                began = h.at
            elif not where(h) and began is not None:
                spans.append((began, h.at))
                began = None
        if began is not None:
            spans.append((began, self.health[-1].at))
        return spans


def work(spec: dict[str, Any]) -> Report:
    """One worker process: ``threads`` callers from ``start_at`` until ``stop_at``."""
    from tiktok_adapter import TikTokAdapter, TikTokAdapterError, mount

    waited = threading.local()

    class Observed(TikTokAdapter):
        def admit(self, request: Any, route: Any, attempt: Any = None) -> float:
            seconds = super().admit(request, route, attempt)
            waited.seconds = getattr(waited, "seconds", 0.0) + seconds
            return seconds

    adapter = Observed(storage_uri=spec["uri"], key_prefix=spec["prefix"],
                       limits={"/user/info/": f"{LIMIT}/second"}, **spec["settings"])  # fmt: skip
    report = Report(spec["worker"])
    lock = threading.Lock()
    store = adapter.store
    acquire = store.acquire

    def timed_acquire(*args: Any, **kwargs: Any) -> Any:  # how long a call waits on the store
        began = time.monotonic()
        try:
            return acquire(*args, **kwargs)
        finally:
            took = time.monotonic() - began
            with lock:
                report.longest_store_call = max(report.longest_store_call, took)

    store.acquire = timed_acquire
    done = threading.Event()

    def watch() -> None:
        last = None
        while not done.is_set():
            s = adapter.stats().storage
            if s is not None:
                now = (s.degraded, s.answering, s.fleet_size)
                if now != last:
                    report.health.append(Health(time.monotonic(), *now))
                    last = now
            done.wait(0.02)
        report.health.append(Health(time.monotonic(), *(last or (False, True, 1))))

    def caller() -> None:
        session = requests.Session()
        mount(session, adapter, base_url=spec["base_url"])
        while time.monotonic() < spec["start_at"]:
            time.sleep(0.01)
        while time.monotonic() < spec["stop_at"]:
            started = time.monotonic()
            with lock:
                in_flight[threading.get_ident()] = started
            waited.seconds = 0.0
            outcome, ours = "ok", True
            try:
                response = session.get(spec["url"], headers={"X-Worker": str(spec["worker"])},
                                       timeout=10)  # fmt: skip
                if response.status_code != 200:
                    outcome = f"status {response.status_code}"
            except Exception as exc:  # every ending is counted, none is lost
                outcome, ours = type(exc).__name__, isinstance(exc, TikTokAdapterError)
            call = Call(spec["worker"], started, time.monotonic() - started, outcome, ours,
                        waited.seconds > 0)  # fmt: skip
            with lock:
                del in_flight[threading.get_ident()]
                if not given_up.is_set():
                    report.calls.append(call)
            if outcome != "ok":
                time.sleep(0.02)  # a refused caller tries again soon, not in a hot loop

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    in_flight: dict[int, float] = {}
    given_up = threading.Event()
    threads = [threading.Thread(target=caller, daemon=True) for _ in range(spec["threads"])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max(0.0, spec["stop_at"] + GRACE - time.monotonic()))
    with lock:  # a call still waiting now has hung: it is counted, as lost
        given_up.set()
        report.calls += [Call(spec["worker"], t, time.monotonic() - t, HUNG, False, True)
                         for t in in_flight.values()]  # fmt: skip
    done.set()
    watcher.join()
    adapter.close()
    return report


def run_fleet(
    uri: str, prefix: str, url: str, start_at: float, stop_at: float,
    settings: dict[str, Any] | None = None, processes: int = PROCESSES, threads: int = THREADS,
) -> concurrent.futures.Future[list[Report]]:  # fmt: skip
    """Start the fleet now (its calls begin at ``start_at``); the future holds every report.

    ``settings`` go to every adapter beside the URI, the prefix and the limit: none, so
    defaults, unless a test says otherwise."""
    pool = concurrent.futures.ProcessPoolExecutor(
        max_workers=processes, mp_context=multiprocessing.get_context("spawn")
    )
    base_url = url.split("/v2/", 1)[0] + "/"
    common = dict(uri=uri, prefix=prefix, url=url, base_url=base_url, start_at=start_at,
                  stop_at=stop_at, threads=threads, settings=settings or {})  # fmt: skip
    futures = [pool.submit(work, {**common, "worker": i}) for i in range(processes)]
    result: concurrent.futures.Future[list[Report]] = concurrent.futures.Future()

    def gather() -> None:
        try:
            result.set_result([f.result(timeout=stop_at - time.monotonic() + 60) for f in futures])
        except BaseException as exc:
            result.set_exception(exc)
        finally:
            pool.shutdown(wait=True)

    threading.Thread(target=gather, daemon=True).start()
    return result
