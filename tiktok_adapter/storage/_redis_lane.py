"""The admission command's own lane to Redis: a connection per thread, commands packed once.

Over loopback, most of a round trip through redis-py's ``execute_command`` is spent in
Python around the socket: taking a connection from the pool under its lock, polling it
for stale data, recording metrics, packing the arguments and running the retry policy.
Admission repeats one command per route with only ``now`` and the share changing, so
the store packs each route's command once (see ``pack``) and sends it here on a
connection that its thread keeps: one ``sendall`` and one reply read per admission.

The lane keeps the client's promises on time: its connections are the pool's own kind
(made by the pool, with its timeouts; a Sentinel pool's ask the Sentinels for the
master on connect), and an attempt that fails quickly (refused, reset: the stale socket
of a master that just died) is tried once more on a fresh connection after one short
backoff, as the client's retry policy does (see ``_redis_client``). A cluster client
routes by slot and has no single pool; it keeps ``execute_command``.
"""

from __future__ import annotations

import importlib
import threading
import time
import weakref
from typing import Any

from ..core.forksafe import after_fork_in_child
from ._redis_client import RETRY_BACKOFF, goes_again


def bulk(value: bytes) -> bytes:
    """One argument in the Redis protocol (RESP): ``$<length>\\r\\n<bytes>\\r\\n``."""
    return b"$%d\r\n%s\r\n" % (len(value), value)


def pack(args: tuple[bytes | str | int, ...]) -> bytes:
    """Arguments in the Redis protocol, without the array header (``array_header``)."""
    return b"".join(bulk(a if isinstance(a, bytes) else str(a).encode()) for a in args)


def array_header(count: int) -> bytes:
    return b"*%d\r\n" % count


class Lane:
    """Sends packed commands on this thread's own connection from ``pool``."""

    def __init__(self, pool: Any, response_error: type[Exception]) -> None:
        self._pool = pool
        self._response_error = response_error
        self._local = threading.local()
        # Bumped when the store has seen a failure: every thread opens a new connection
        # (after a Sentinel failover the old ones lead to the old master).
        self._generation = 0
        self._connections: weakref.WeakSet[Any] = weakref.WeakSet()
        # A child process must not write to its parent's sockets.
        after_fork_in_child(self, "_local", threading.local)
        after_fork_in_child(self, "_connections", weakref.WeakSet)

    @classmethod
    def of(cls, client: Any) -> Lane | None:
        """A lane for ``client``'s pool; None for a client without one (a cluster)."""
        pool = getattr(client, "connection_pool", None)
        if pool is None or not hasattr(pool, "make_connection"):
            return None
        if getattr(client, "connection", None) is not None:  # single_connection_client
            return None
        package = type(pool).__module__.split(".", 1)[0]  # redis, or valkey
        try:
            response_error = importlib.import_module(f"{package}.exceptions").ResponseError
        except (ImportError, AttributeError):
            return None
        return cls(pool, response_error)

    def call(self, packed: bytes) -> Any:
        """The reply to ``packed``; raises what the connection raises after its retry."""
        held = getattr(self._local, "held", None)
        if held is not None and held[0] == self._generation:
            conn = held[1]
        else:
            conn = self._connection(held)
        began = time.monotonic()
        try:
            conn.send_packed_command((packed,), check_health=False)
            return conn.read_response()
        except self._response_error:
            raise  # the server answered (NOSCRIPT, say): the connection is in step
        except Exception:
            conn.disconnect()
            if not goes_again(1, 1, began, time.monotonic()):
                raise  # a slow failure already cost the whole budget
        time.sleep(RETRY_BACKOFF)
        try:
            conn.send_packed_command((packed,), check_health=False)  # connects anew
            return conn.read_response()
        except self._response_error:
            raise
        except Exception:
            conn.disconnect()
            raise

    def _connection(self, held: tuple[int, Any] | None) -> Any:
        if held is not None:
            held[1].disconnect()
        conn = self._pool.make_connection()
        self._connections.add(conn)
        self._local.held = (self._generation, conn)
        return conn

    def reset(self) -> None:
        """After a failure: each thread's next call opens a new connection."""
        self._generation += 1

    def close(self) -> None:
        for conn in list(self._connections):
            try:
                conn.disconnect()
            except Exception:  # a dead connection is not worth an error
                pass
        self._generation += 1
