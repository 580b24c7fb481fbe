"""The retry policy: an immutable object of pure functions, as urllib3's Retry is."""

from __future__ import annotations

from dataclasses import dataclass

# Re-sending these can never change anything on the server (RFC 9110, section 9.2.1).
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_SERVER_WAIT = 86_400.0


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to back off; decisions only, never a sleep.

    ``max_retries`` caps the re-sends of one call, for 429s and, where re-sending is
    safe, connection errors alike. ``backoff_base`` and ``backoff_max`` shape the
    exponential backoff with equal jitter used when the server names no wait.
    """

    max_retries: int = 3
    backoff_base: float = 2.0
    backoff_max: float = 60.0
    max_server_wait: float = MAX_SERVER_WAIT

    def backoff_time(self, attempt: int, rand: float) -> float:
        """Equal-jitter backoff for the ``attempt``-th retry (from 1), with ``rand`` in [0, 1):
        between half the ceiling and the ceiling.

        Full jitter (anywhere from 0) drawn near 0 three times in a row sent every re-send
        of a refusal that named no time (the Business API's 40100, per second) back into
        the same second, and the call ended refused where a plain client that slept 1 s
        got its data. The lower half still spreads a fleet's re-sends apart.
        """
        exponent = min(max(attempt - 1, 0), 62)
        ceiling = min(self.backoff_max, self.backoff_base * (2.0**exponent))
        return ceiling * (1.0 + max(0.0, min(rand, 1.0))) / 2

    def clamp_server_wait(self, seconds: float) -> float:
        """A server-named wait, held to [0, max_server_wait] so garbage cannot park us."""
        return min(max(seconds, 0.0), self.max_server_wait)

    def pause_until(
        self, now: float, server_moment: float | None, quota: bool, rand: float, attempt: int = 1
    ) -> float:
        """Until when a refused endpoint rests: the server's moment, else the next 00:00
        UTC for a spent daily quota, else an equal-jitter backoff for the ``attempt``-th
        refusal in a row (from 1), so that its ceiling doubles; never beyond a day."""
        if server_moment is not None:
            until = server_moment
        elif quota:
            until = (now // 86_400 + 1) * 86_400
        else:
            until = now + self.backoff_time(attempt, rand)
        return now + self.clamp_server_wait(until - now)

    def may_retry(self, attempt: int) -> bool:
        """Whether one more re-send is allowed after ``attempt`` re-sends so far."""
        return attempt < self.max_retries


def resend_is_safe(method: str | None, read_only: bool, body: object) -> bool:
    """Whether a request that may have reached the server can be sent again.

    Only safe methods and endpoints the table marks read-only qualify, so that a
    comment is never posted twice; a streamed body cannot be replayed at all.
    """
    if body is not None and not isinstance(body, (bytes, str)):
        return False
    return (method or "GET").upper() in SAFE_METHODS or read_only
