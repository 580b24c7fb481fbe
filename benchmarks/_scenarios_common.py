"""Contenders (our adapter and its peers) built for one limit, and a bounded load driver."""

from __future__ import annotations

import importlib
import itertools
import math
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from tiktok_adapter import TikTokAdapter, mount

PATH = "v2/bench/"
# The adapter is judged on its defaults, as users meet them. For comparison only, one
# row reserves a fifth of every window for HIGH and CRITICAL work (opt-in headroom),
# which untagged (MEDIUM) callers then cannot use.
HEADROOM: dict[str, Any] = {"priority_shares": {"medium": 0.8}}
HEADROOM_NOTE = "opt-in headroom: untagged callers leave a fifth of each window to HIGH/CRITICAL"
ROUTE = "/bench/"
RRL = "requests-ratelimiter"
PYRATE = "PyrateLimiter"
# Wide enough that no limit binds in the overhead runs.
NEVER_BINDS = 1_000_000
REQUEST_TIMEOUT = 30.0


def installed(module: str) -> bool:
    """Whether ``module`` imports; a peer that is missing or broken is skipped with a note."""
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


def unique_prefix() -> str:
    """A fresh key prefix, so one run never sees the counts of another on a shared store."""
    return "bench" + uuid.uuid4().hex[:10]


def limit_text(limit: int, window: float) -> str:
    seconds = int(window)
    if seconds != window or seconds < 1:
        raise ValueError(f"window={window!r}: the adapter takes whole seconds")
    return f"{limit} per {seconds} second" + ("s" if seconds > 1 else "")


def ideal_makespan(total: int, limit: int, window: float) -> float:
    """The whole first burst at once, then ``limit`` more at the start of every window."""
    return (math.ceil(total / limit) - 1) * window


@dataclass
class Contender:
    name: str
    config: str
    get: Callable[[str], requests.Response]
    close: Callable[[], None]
    note: str = ""
    adapter: TikTokAdapter | None = None
    session: requests.Session | None = None

    def fresh(self) -> None:
        """Drop the pooled connections, so that the next request opens a new one (and
        the server a new thread for it); the limiter and its windows stay as they are."""
        if self.session is None:
            return
        for mounted in self.session.adapters.values():
            if isinstance(mounted, HTTPAdapter):
                # HTTPAdapter's own close, not ours: it empties the pools and nothing else.
                HTTPAdapter.close(mounted)


def plain(base_url: str) -> Contender:
    session = requests.Session()
    return Contender(
        "plain requests",
        "requests.Session, no limiter",
        _getter(session),
        session.close,
        session=session,
    )


def adapter(
    base_url: str,
    limit: int,
    window: float,
    *,
    storage_uri: str = "memory://",
    name: str | None = None,
    key_prefix: str | None = None,
    **settings: Any,
) -> Contender:
    session = requests.Session()
    spec = limit_text(limit, window)
    ad = mount(
        session,
        base_url=base_url,
        limits={ROUTE: spec},
        app_limit=None,
        storage_uri=storage_uri,
        key_prefix=key_prefix or unique_prefix(),
        **settings,
    )
    store = "redis" if storage_uri.startswith("redis") else "memory"
    config = f'limits={{"{ROUTE}": "{spec}"}}, {store}, sleep mode'
    for key, value in settings.items():
        config += f", {key}={value!r}"
    return Contender(
        name or f"tiktok_adapter ({store})",
        config,
        _getter(session),
        session.close,
        adapter=ad,
        session=session,
    )


def ratelimiter(base_url: str, limit: int, window: float) -> Contender | None:
    """requests-ratelimiter's in-memory bucket with exactly ``limit`` per ``window``."""
    if not installed("requests_ratelimiter"):
        return None
    from requests_ratelimiter import LimiterAdapter

    # per_second * burst requests per burst seconds: the same window as the server's.
    per_second = limit / window
    session = requests.Session()
    limiter = LimiterAdapter(per_second=per_second, burst=window)
    session.mount(base_url, limiter)
    config = f"LimiterAdapter(per_second={per_second:g}, burst={window:g}), in-memory bucket"
    return Contender(
        RRL,
        config,
        _getter(session),
        session.close,
        note="returns a 429 to the caller (no retry); fills its bucket after one",
        session=session,
    )


def pyrate(base_url: str, limit: int, window: float) -> Contender | None:
    """PyrateLimiter 4's requests session, on an in-memory bucket of ``limit`` per ``window``."""
    if not installed("pyrate_limiter.extras.requests_limiter"):
        return None
    from pyrate_limiter import Duration, Limiter, Rate
    from pyrate_limiter.extras.requests_limiter import RateLimitedRequestsSession

    limiter = Limiter(Rate(limit, Duration.SECOND * window))
    session = RateLimitedRequestsSession(limiter)
    config = (
        f"RateLimitedRequestsSession(Limiter(Rate({limit}, Duration.SECOND * {window:g}))), "
        "in-memory bucket"
    )
    return Contender(PYRATE, config, _getter(session), session.close, session=session)


def seed(
    base_url: str, limit: int, window: float, base_delay: float = 2.0, jitter: float = 1.0
) -> Contender:
    from _seed_peer import SeedClient

    session = requests.Session()
    client = SeedClient(session, limit, window, base_delay=base_delay, jitter=jitter)
    config = (
        f"RequestThrottler({limit} per {window:g} s) shared by all threads + "
        f"make_request_with_backoff(max_retries=3, base_delay={base_delay:g})"
    )
    return Contender(
        "seed guide",
        config,
        client.get,
        session.close,
        note="the guide's code as written, window shortened",
    )


def urllib3_retry(base_url: str) -> Contender:
    retry = Retry(
        total=5, status_forcelist=[429], respect_retry_after_header=True, backoff_factor=0.5
    )
    session = requests.Session()
    session.mount(base_url, HTTPAdapter(max_retries=retry))
    config = (
        "HTTPAdapter(max_retries=Retry(total=5, status_forcelist=[429], "
        "respect_retry_after_header=True, backoff_factor=0.5))"
    )
    return Contender(
        "urllib3 Retry",
        config,
        _getter(session),
        session.close,
        note="no client-side limit: learns of it from 429s and Retry-After",
    )


def _getter(session: requests.Session) -> Callable[[str], requests.Response]:
    def get(url: str) -> requests.Response:
        return session.get(url, timeout=REQUEST_TIMEOUT)

    return get


@dataclass
class Outcome:
    """What the callers saw: answers, failures, and when the last answer came."""

    total: int
    ok: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    started: float = 0.0
    last_ok: float = 0.0
    last_done: float = 0.0

    @property
    def lost(self) -> int:
        return self.total - self.ok

    @property
    def makespan(self) -> float:
        return (self.last_ok if self.lost == 0 else self.last_done) - self.started


def drive(
    get: Callable[[str], requests.Response],
    url: str,
    total: int,
    threads: int,
    budget: float,
    clock: Callable[[], float] = time.monotonic,
    start_at: float | None = None,
) -> Outcome:
    """Send ``total`` GETs from ``threads`` threads; stop taking new ones after ``budget`` s.

    A request not answered 200 (a 429 given back, an exception, or one never sent
    because the budget ran out) counts as lost.
    """
    out = Outcome(total)
    lock = threading.Lock()
    taken = itertools.count()

    def worker() -> None:
        while True:
            with lock:
                index = next(taken)
            if index >= total or clock() > deadline:
                return
            try:
                status = get(url).status_code
                failure = None if status == 200 else f"HTTP {status}"
            except Exception as exc:  # a lost request, whatever the reason
                failure = type(exc).__name__
            done = clock()
            with lock:
                out.last_done = max(out.last_done, done)
                if failure is None:
                    out.ok += 1
                    out.last_ok = max(out.last_ok, done)
                else:
                    out.errors[failure] = out.errors.get(failure, 0) + 1

    if start_at is not None:
        while clock() < start_at:
            time.sleep(min(0.01, max(start_at - clock(), 0.0)))
    out.started = clock()
    deadline = out.started + budget
    pool = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        # Bounded: a worker still inside a long sleep is abandoned, its request lost.
        t.join(timeout=max(deadline - clock(), 0.0) + REQUEST_TIMEOUT)
    return out


def quiet() -> None:
    """Keep the adapter's warnings about expected 429s out of the benchmark's output."""
    import logging

    logging.getLogger("tiktok_adapter").setLevel(logging.ERROR)
