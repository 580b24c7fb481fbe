"""Learned limits on the wire: a client configured above the server's real limit.

The loopback server enforces ``--real`` requests per second; every client is configured
for ``--configured`` per second, as a user who believes in a higher tier would be.
Compared in one run:

- tiktok_adapter with learned limits (the default), and with learning off;
- requests-ratelimiter's LimiterAdapter at the configured rate (if installed);
- urllib3's Retry with ``respect_retry_after_header`` (no client-side limit).

Each sends ``--requests`` GETs from ``--threads`` threads and reports the server's 429
rate, the calls that came back without a 200 (lost), and the makespan against the
ideal (requests / real rate). Run: ``python benchmarks/learning_bench.py``.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any

import _server
import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from tiktok_adapter import TikTokAdapter
from tiktok_adapter.core.learning import LearningPolicy

PATH = "v2/video/query/"


@dataclass(frozen=True)
class Result:
    contender: str
    config: str
    sent: int
    refused_429: int
    rate_429: float
    lost: int
    makespan: float
    ideal: float

    def row(self) -> str:
        return (
            f"| {self.contender} | {self.sent} | {self.refused_429} | {self.rate_429:.1%} | "
            f"{self.lost} | {self.makespan:.1f} s | {self.makespan / self.ideal:.2f}x |"
        )


def _adapter(base: str, configured: int, learning: bool) -> tuple[requests.Session, str]:
    session = requests.Session()
    adapter = TikTokAdapter(limits={"/video/query/": f"{configured}/second"}, app_limit=None)
    if not learning:
        adapter.limiter.learner.policy = LearningPolicy(enabled=False)
    session.mount(base, adapter)
    flag = "on (default)" if learning else "off"
    return session, f'limits={{"/video/query/": "{configured}/second"}}, learning {flag}'


def _ratelimiter(base: str, configured: int) -> tuple[requests.Session, str] | None:
    try:
        from requests_ratelimiter import LimiterAdapter
    except ImportError:
        return None
    session = requests.Session()
    session.mount(base, LimiterAdapter(per_second=configured))
    return session, f"LimiterAdapter(per_second={configured})"


def _retry(base: str) -> tuple[requests.Session, str]:
    retry = Retry(total=5, status_forcelist=[429], respect_retry_after_header=True,
                  backoff_factor=0.5)  # fmt: skip
    session = requests.Session()
    session.mount(base, HTTPAdapter(max_retries=retry))
    return session, "Retry(total=5, status_forcelist=[429], respect_retry_after_header=True)"


def run_one(
    server: _server.ServerHandle,
    name: str,
    made: tuple[requests.Session, str],
    total: int,
    threads: int,
    real: int,
) -> Result:
    session, config = made
    server.reset(real, 1.0, retry_after=True, record=False)
    url = server.base_url + PATH
    statuses: list[int] = []

    def call(_: int) -> None:
        try:
            statuses.append(session.get(url, timeout=30).status_code)
        except requests.RequestException:
            statuses.append(0)

    started = time.monotonic()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(call, range(total)))
    makespan = time.monotonic() - started
    seen = server.arrivals()
    session.close()
    arrived = seen.ok + seen.refused
    return Result(
        name, config, arrived, seen.refused, seen.refused / arrived if arrived else 0.0,
        sum(1 for s in statuses if s != 200), makespan, total / real,
    )  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--real", type=int, default=10, help="the server's limit per second")
    parser.add_argument("--configured", type=int, default=20, help="what clients believe")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    base = "http://127.0.0.1/"
    contenders: list[tuple[str, Callable[[str], Any]]] = [
        ("tiktok_adapter", lambda b: _adapter(b, args.configured, True)),
        ("tiktok_adapter, learning off", lambda b: _adapter(b, args.configured, False)),
        ("requests-ratelimiter", lambda b: _ratelimiter(b, args.configured)),
        ("urllib3 Retry", _retry),
    ]
    results: list[Result] = []
    with _server.start() as server:
        base = server.base_url
        for name, make in contenders:
            made = make(base)
            if made is None:
                continue
            results.append(run_one(server, name, made, args.requests, args.threads, args.real))
    if args.json:
        print(json.dumps([asdict(r) for r in results], indent=2))
        return 0
    print(
        f"{args.requests} requests from {args.threads} threads; the server allows "
        f"{args.real}/s, every client is configured for {args.configured}/s; "
        f"ideal makespan {args.requests / args.real:.1f} s\n"
    )
    print("| client | arrived | 429s | 429 rate | lost | makespan | vs ideal |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        print(r.row())
    print()
    for r in results:
        print(f"- {r.contender}: {r.config}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
