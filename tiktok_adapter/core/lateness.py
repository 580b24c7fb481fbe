"""How much later than usual an answer came back: the part of a delay the margin may miss.

The windows count a request when it is admitted; the server counts it when it arrives.
A steady delay between the two (the network's round trip) shifts every request alike
and never lets the server see more than the limit. What does is one request that
arrives later than the rest: the handshakes of a new connection, a process that stalled
between admission and sending, a queue in a proxy. Then the next request admitted in
its slot may reach the server less than a period after it, and is refused.

The client cannot see when a request arrived, only when its answer came back, which is
later. So each endpoint keeps a low estimate of its usual time from admission to answer
(a lower envelope that falls at once and rises slowly), and an answer that took longer
than that by more than the safety margin moves its window entries later by the excess
(see ``engine/late.py``); a call that failed without an answer (a timeout, a reset
connection) may have arrived at any moment before the failure, and moves the same way.
The estimate starts at zero, so that until an endpoint's usual delay is known every
delay counts as lateness: the cautious side.
"""

from __future__ import annotations

# How far the estimate moves toward a longer delay per answer: slowly, so that it stays
# near the shortest answers (the successor in a slot may well be one of those), one late
# answer barely raises it, and a steady delay (a distant server) is learned within a few
# hundred answers. With 1/32, one of two full benchmark runs drew a 429 of 500 (the cause
# was not pinned down; a lower estimate is the cautious side).
RISE = 1 / 128

# How far from the moment of admission a store may look for the entry to move: a
# neighbour admitted a moment apart stands for it as well, and a store's copy may be
# stamped a moment after the clock reading the transport holds. (A shared store's own
# stamp, which a delayed command makes later by the delay, comes back with the admission
# and is looked for exactly: Admission.stamp.)
REDATE_REACH = 0.05

# Endpoints tracked; more (a table of thousands of custom rows) starts over.
_SIZE = 1024


class Lateness:
    """Per endpoint, the usual time from admission to answer, and how late one answer is.

    Thread-safe enough for what it is: two threads updating one endpoint at once may
    lose one of the updates, which moves an estimate by a 128th at most.
    """

    __slots__ = ("_usual",)

    def __init__(self) -> None:
        self._usual: dict[str, float] = {}

    def excess(self, endpoint: str, elapsed: float) -> float:
        """Seconds by which ``elapsed`` (admission to answer) exceeds ``endpoint``'s usual
        time; learns from it."""
        usual = self._usual.get(endpoint, 0.0)
        if elapsed <= usual:
            self._usual[endpoint] = elapsed
            return 0.0
        if len(self._usual) >= _SIZE and endpoint not in self._usual:
            self._usual.clear()
        self._usual[endpoint] = usual + (elapsed - usual) * RISE
        return elapsed - usual

    def beyond(self, endpoint: str, elapsed: float) -> float:
        """Seconds by which ``elapsed`` exceeds ``endpoint``'s usual time, learning nothing
        (for a call that failed: its time says nothing of how long answers take)."""
        return max(elapsed - self._usual.get(endpoint, 0.0), 0.0)

    def usual(self, endpoint: str) -> float:
        """The current estimate for ``endpoint`` (0 before its first answer)."""
        return self._usual.get(endpoint, 0.0)
