"""Under real threads on the real clock, no window is ever exceeded."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import requests
import responses

from tiktok_adapter import TikTokAdapter, mount

URL = "https://open.tiktokapis.com/v2/video/query/"


def max_in_window(stamps: list[float], period: float) -> int:
    stamps = sorted(stamps)
    best, lo = 0, 0
    for hi, t in enumerate(stamps):
        while t - stamps[lo] >= period:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


class StrictServer:
    """A mock endpoint that enforces N per moving window on arrival time, like TikTok."""

    def __init__(self, amount: int, period: float) -> None:
        self.amount, self.period = amount, period
        self.lock = threading.Lock()
        self.accepted: list[float] = []
        self.refused = 0

    def __call__(self, request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        with self.lock:
            now = time.monotonic()
            live = [t for t in self.accepted if now - t < self.period]
            if len(live) >= self.amount:
                self.refused += 1
                return 429, {}, '{"error": {"code": "rate_limit_exceeded"}}'
            self.accepted.append(now)
        return 200, {}, '{"data": {}, "error": {"code": "ok"}}'


def run_threads(threads: int, total: int, call: Callable[[], requests.Response]) -> list[int]:
    with ThreadPoolExecutor(threads) as pool:
        futures = [pool.submit(call) for _ in range(total)]
        return [f.result().status_code for f in futures]


def test_sixteen_threads_never_exceed_ten_per_second() -> None:
    server = StrictServer(10, 1.0)
    session = requests.Session()
    mount(
        session,
        limits={"/video/query/": "10/second"},
        app_limit=None,
        default_priority="critical",
    )
    with responses.RequestsMock() as mock:
        mock.add_callback(responses.POST, URL, callback=server)
        statuses = run_threads(16, 25, lambda: session.post(URL, json={}))
    assert statuses == [200] * 25
    assert server.refused == 0
    assert max_in_window(server.accepted, 1.0) <= 10


def test_default_margin_keeps_a_strict_server_happy() -> None:
    # 8 threads, 100 requests, a server enforcing exactly our limit on arrival time.
    # (benchmarks/margin.py measures the same at 5/second on a real loopback server.)
    server = StrictServer(50, 1.0)
    session = requests.Session()
    adapter = mount(
        session,
        limits={"/video/query/": "50/second"},
        app_limit=None,
        default_priority="critical",
    )
    with responses.RequestsMock() as mock:
        mock.add_callback(responses.POST, URL, callback=server)
        statuses = run_threads(8, 100, lambda: session.post(URL, json={}))
    assert statuses == [200] * 100
    assert server.refused <= 1
    assert adapter.settings.safety_margin > 0


def test_memory_store_is_exact_under_contention() -> None:
    adapter = TikTokAdapter(
        limits={"/video/query/": "100/minute"}, app_limit=None, default_priority="critical"
    )
    route = adapter.resolve(requests.Request("POST", URL).prepare())
    admitted = []
    barrier = threading.Barrier(16)

    def hammer() -> None:
        barrier.wait()
        now = time.time()
        admitted.extend(
            1 for _ in range(50) if adapter.store.acquire(route.windows, (), now).admitted
        )

    workers = [threading.Thread(target=hammer) for _ in range(16)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert len(admitted) == 100
