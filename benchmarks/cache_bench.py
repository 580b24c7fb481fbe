"""Cache benchmark: repeated reads through cached_session against a loopback server."""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tiktok_adapter.cache import cached_session

TOKEN = "act.bench-token-not-real"
PATH = "/v2/video/query/"


class _Counter:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.arrivals = 0


def _handler(counter: _Counter) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            # Headers and body leave in two writes; without this, Nagle's algorithm and
            # delayed ACKs add about 40 ms to every miss on loopback.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            query = json.loads(self.rfile.read(length) or b"{}")
            with counter.lock:
                counter.arrivals += 1
            ids = query.get("filters", {}).get("video_ids", [])
            videos = [{"id": v, "title": f"video {v}", "view_count": 1000} for v in ids]
            body = json.dumps({"data": {"videos": videos}, "error": {"code": "ok"}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def _server() -> Iterator[tuple[str, _Counter]]:
    counter = _Counter()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(counter))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", counter
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def run(quick: bool = False) -> dict[str, Any]:
    """Read ``reads`` times over ``distinct`` queries; report arrivals and hit/miss times."""
    reads, distinct = (200, 20) if quick else (1000, 50)
    hits: list[float] = []
    misses: list[float] = []
    with _server() as (base_url, counter), tempfile.TemporaryDirectory() as tmp:
        session = cached_session(
            str(Path(tmp) / "bench_cache"),
            base_url=base_url,
            secret="benchmark",
            limits={"/video/query/": "100000/minute"},
            app_limit="100000/minute",
        )
        headers = {"Authorization": f"Bearer {TOKEN}"}
        url = base_url.rstrip("/") + PATH
        with session:
            for i in range(reads):
                query = {"filters": {"video_ids": [str(i % distinct)]}, "max_count": 20}
                start = time.perf_counter()
                response = session.post(url, json=query, headers=headers)
                elapsed = time.perf_counter() - start
                response.raise_for_status()
                (hits if response.from_cache else misses).append(elapsed)
            stats = session.tiktok_adapter.stats().total
    return {
        "reads": reads,
        "distinct_queries": distinct,
        "server_arrivals": counter.arrivals,
        "expected_arrivals": distinct,
        "hits": len(hits),
        "misses": len(misses),
        "median_hit_ms": round(statistics.median(hits) * 1000, 3) if hits else None,
        "median_miss_ms": round(statistics.median(misses) * 1000, 3) if misses else None,
        "adapter_sent": stats.sent,
        "adapter_cache_hits": stats.cache_hits,
        "adapter_cache_misses": stats.cache_misses,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="200 reads of 20 queries")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args()
    result = run(quick=args.quick)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(
        f"{result['reads']} reads of {result['distinct_queries']} distinct queries: "
        f"{result['server_arrivals']} reached the server (goal {result['expected_arrivals']})"
    )
    print(f"hits {result['hits']}, misses {result['misses']}")
    print(f"median hit  {result['median_hit_ms']} ms")
    print(f"median miss {result['median_miss_ms']} ms")
    print(
        f"adapter: sent {result['adapter_sent']}, cache hits {result['adapter_cache_hits']}, "
        f"cache misses {result['adapter_cache_misses']}"
    )


if __name__ == "__main__":
    main()
