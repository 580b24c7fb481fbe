"""What one request costs the demo's process with no limiter: the latency its ideal charges."""

from __future__ import annotations

import threading
import time

import requests

from ..testing import TikTokApp
from ..testing.clock import ScaledClock
from ..testing.server import SimulatorServer


def measure_latency(workers: int = 4, per_worker: int = 25) -> float:
    """Real seconds per request that this process sustains with no limiter in the way.

    ``workers`` threads send back to back to a throwaway simulator (in this process, as
    in the demo, so the client, the server and the interpreter's lock cost the same);
    the result is the wall time divided by the requests. The demo's own windows and
    counts are untouched.
    """
    app = TikTokApp(clock=ScaledClock(1.0), limits={"/user/info/": "1000000/second"},
                    app_limit=None)  # fmt: skip
    with SimulatorServer(app) as server:
        url = server.url + "v2/user/info/"
        sessions = [requests.Session() for _ in range(workers)]
        for session in sessions:
            session.get(url, timeout=5)  # open the connections before timing

        def send(session: requests.Session) -> None:
            for _ in range(per_worker):
                session.get(url, timeout=5)

        threads = [threading.Thread(target=send, args=(s,)) for s in sessions]
        began = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - began
        for session in sessions:
            session.close()
    return elapsed / (workers * per_worker)
