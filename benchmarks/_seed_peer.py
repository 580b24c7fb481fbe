"""The seed guide's throttler and backoff, rewritten for a short window and a loopback server."""

from __future__ import annotations

import random
import time
from collections.abc import Callable

import requests

# Rewritten from the guide's "Request Throttling" and "Implement Backoff Strategy"
# samples, keeping their behaviour on purpose, including what we consider faults:
# - the throttler's list is not guarded, so threads sharing it can lose each other's
#   stamps;
# - after sleeping it records the moment *before* the sleep, so the window it keeps
#   runs early and lets the next burst through too soon;
# - retries after a 429 do not go through the throttler;
# - the last 429 still sleeps before giving up.
# Changes: the window is a parameter (the guide's is 60 s) so a run takes seconds, and
# requests go through a caller's session to the loopback server.


class RequestThrottler:
    """At most ``requests_per_window`` per ``window`` seconds, by a list of send times."""

    def __init__(self, requests_per_window: int = 10, window: float = 60.0) -> None:
        self.requests_per_window = requests_per_window
        self.window = window
        self.request_times: list[float] = []

    def wait_if_needed(self) -> None:
        now = time.time()
        self.request_times = [t for t in self.request_times if now - t < self.window]
        if len(self.request_times) >= self.requests_per_window:
            sleep_time = self.window - (now - self.request_times[0])
            if sleep_time > 0:
                time.sleep(sleep_time)
        self.request_times.append(now)


def make_request_with_backoff(
    get: Callable[..., requests.Response],
    url: str,
    headers: dict[str, str],
    max_retries: int = 3,
    base_delay: float = 2.0,
    jitter: float = 1.0,
) -> requests.Response:
    """The guide's exponential backoff; ``jitter`` is its ``uniform(0, 1)`` term."""
    for attempt in range(max_retries):
        try:
            response = get(url, headers=headers)
            if response.status_code == 429:
                time.sleep(base_delay * (2**attempt) + random.uniform(0, jitter))
                continue
            response.raise_for_status()
            return response
        except requests.exceptions.RequestException:
            if attempt == max_retries - 1:
                raise
            time.sleep(base_delay * (2**attempt) + random.uniform(0, jitter))
    raise RuntimeError("Max retries exceeded")


class SeedClient:
    """The guide's two pieces put together: throttle once, then send with backoff."""

    def __init__(
        self,
        session: requests.Session,
        requests_per_window: int,
        window: float,
        base_delay: float = 2.0,
        jitter: float = 1.0,
    ) -> None:
        self.session = session
        self.throttler = RequestThrottler(requests_per_window, window)
        self.base_delay = base_delay
        self.jitter = jitter

    def get(self, url: str, timeout: float = 30.0) -> requests.Response:
        self.throttler.wait_if_needed()

        def send(u: str, headers: dict[str, str]) -> requests.Response:
            return self.session.get(u, headers=headers, timeout=timeout)

        return make_request_with_backoff(
            send, url, {}, base_delay=self.base_delay, jitter=self.jitter
        )
