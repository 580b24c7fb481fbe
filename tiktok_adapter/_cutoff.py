"""A deadline for a whole blocking read: at the deadline the socket is shut down.

A per-read timeout cannot bound a body trickled a byte at a time (each read gets its
byte in time), and a read that waits for a given number of bytes cannot see a deadline
between reads. Shutting the connection down from a timer wakes whatever read is blocked
on it with the end of the stream or an error, whichever library is reading. It costs a
timer thread, so it guards only a body read for the adapter's own purposes (a 429's),
never the hot path; the connection is closed afterwards, never reused.
"""

from __future__ import annotations

import socket
import threading


class Cutoff:
    """``with Cutoff(fileno, seconds) as cut:`` read; ``cut.fired`` tells whether the read
    was cut. ``fileno`` is the connection's descriptor (None: a mocked or wrapped stream,
    and nothing is done)."""

    def __init__(self, fileno: int | None, seconds: float) -> None:
        self.fired = False
        self._lock = threading.Lock()
        self._over = False
        self._sock: socket.socket | None = None
        self._timer: threading.Timer | None = None
        if fileno is None:
            return
        try:
            # A duplicate of the descriptor: shutting it down shuts the connection down,
            # and it stays this connection's even if the original is closed meanwhile.
            self._sock = socket.fromfd(fileno, socket.AF_INET, socket.SOCK_STREAM)
        except OSError:
            return
        self._timer = threading.Timer(max(seconds, 0.0), self._cut)
        self._timer.daemon = True

    def __enter__(self) -> Cutoff:
        if self._timer is not None:
            self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:  # once this returns, the connection is never shut down
            self._over = True
        if self._timer is not None:
            self._timer.cancel()
        if self._sock is not None:
            self._sock.close()  # the duplicate only

    def _cut(self) -> None:
        with self._lock:
            if self._over or self._sock is None:
                return
            self.fired = True
            try:
                self._sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
