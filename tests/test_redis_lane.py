"""The admission command's own lane to Redis: a connection per thread, a quick retry, forks.

Each test drives the Redis store's ``acquire`` on a real redis-server of the suite's own
and checks what the lane promises: exact counts from many threads, a connection that the
server dropped is replaced within the call, a forked child never writes to its parent's
socket, and a failure or ``close()`` retires every thread's connection.
"""

from __future__ import annotations

import os
import threading
import time

import pytest
import redis

from tiktok_adapter import TikTokAdapter
from tiktok_adapter.storage._redis_lane import Lane, array_header, pack

pytestmark = pytest.mark.redis

LIMIT = 40


def _store(redis_url: str, key_prefix: str) -> tuple[TikTokAdapter, object, tuple, tuple]:
    ad = TikTokAdapter(
        storage_uri=redis_url, key_prefix=key_prefix, app_limit=None,
        limits={"/video/query/": f"{LIMIT}/hour"}, on_storage_error="raise",
    )  # fmt: skip
    route = ad.limiter.resolve("https://open.tiktokapis.com/v2/video/query/")
    return ad, ad.store.primary, route.windows, route.blocks


def _client_id(lane: Lane) -> int:
    return int(lane.call(array_header(2) + pack(("CLIENT", "ID"))))


def test_threads_admit_exactly_the_limit_each_on_a_connection_of_its_own(
    redis_url: str, key_prefix: str
) -> None:
    ad, store, windows, blocks = _store(redis_url, key_prefix)
    admitted: list[bool] = []
    ids: set[int] = set()
    lock = threading.Lock()
    start = threading.Barrier(8)

    def worker() -> None:
        start.wait()
        mine = [store.acquire(windows, blocks, None).admitted for _ in range(10)]  # type: ignore[attr-defined]
        client_id = _client_id(store._lane)  # type: ignore[attr-defined]
        with lock:
            admitted.extend(mine)
            ids.add(client_id)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert admitted.count(True) == LIMIT and len(admitted) == 80
    assert len(ids) == 8  # one connection per thread, none shared
    ad.close()


def test_a_connection_the_server_dropped_is_replaced_within_the_call(
    redis_url: str, key_prefix: str
) -> None:
    ad, store, windows, blocks = _store(redis_url, key_prefix)
    assert store.acquire(windows, blocks, None).admitted  # type: ignore[attr-defined]
    lane: Lane = store._lane  # type: ignore[attr-defined]
    before = _client_id(lane)
    redis.Redis.from_url(redis_url).client_kill_filter(_id=before)
    # The next admission finds its socket closed, fails at once, and goes again on a
    # fresh connection: no StorageUnavailable, and it is counted once.
    assert store.acquire(windows, blocks, None).admitted  # type: ignore[attr-defined]
    assert _client_id(lane) != before
    assert store.usage(windows[0], time.time()).used == 2  # type: ignore[attr-defined]
    ad.close()


def test_a_failure_and_close_retire_every_threads_connection(
    redis_url: str, key_prefix: str
) -> None:
    ad, store, windows, blocks = _store(redis_url, key_prefix)
    store.acquire(windows, blocks, None)  # type: ignore[attr-defined]
    lane: Lane = store._lane  # type: ignore[attr-defined]
    first = _client_id(lane)
    store._failed(ConnectionError("the master went away"))  # type: ignore[attr-defined]
    second = _client_id(lane)
    assert second != first  # a Sentinel failover: the next call asks where the master is
    ad.close()
    server = redis.Redis.from_url(redis_url)
    assert second not in {c["id"] for c in server.client_list()}


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX")
def test_a_forked_child_uses_a_connection_of_its_own(redis_url: str, key_prefix: str) -> None:
    ad, store, windows, blocks = _store(redis_url, key_prefix)
    assert store.acquire(windows, blocks, None).admitted  # type: ignore[attr-defined]
    parent = _client_id(store._lane)  # type: ignore[attr-defined]
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: admit, report its connection, and leave at once
        try:
            store.acquire(windows, blocks, None)  # type: ignore[attr-defined]
            os.write(write, str(_client_id(store._lane)).encode())  # type: ignore[attr-defined]
        finally:
            os._exit(0)
    os.close(write)
    child = int(os.read(read, 64) or b"0")
    os.close(read)
    os.waitpid(pid, 0)
    assert child not in (0, parent)
    # The parent's connection is still in step: had the child written to it, this call
    # would read the child's reply (or none).
    assert _client_id(store._lane) == parent  # type: ignore[attr-defined]
    assert store.usage(windows[0], time.time()).used == 2  # type: ignore[attr-defined]
    ad.close()
