"""Each store declares where learned limits live (``Store.learned_place``, #24 item 3):
the memory store in this process, Redis in one hash the fleet reads, and the fallback in
its primary's hash, never asked while the fallback counts alone."""

from __future__ import annotations

from typing import Any

import pytest

from tiktok_adapter.core.learning import Learned, LearningPolicy
from tiktok_adapter.core.windows import StorageError
from tiktok_adapter.storage import open_store
from tiktok_adapter.storage.fallback import FallbackStore
from tiktok_adapter.testing import FakeClock

POLICY = LearningPolicy(enabled=True)
HALF = Learned(factor=0.5, changed_at=1_700_000_000.0)


def _store(uri: str, prefix: str) -> Any:
    return open_store(uri, key_prefix=prefix, margin=0.0, use_storage_time=False,
                      clock=FakeClock())  # fmt: skip


def test_memory_keeps_learned_values_in_this_process() -> None:
    one, two = _store("memory://", "p"), _store("memory://", "p")
    place = one.learned_place("p", POLICY)
    assert place.remote is False
    assert place.lower("app", HALF) == HALF
    assert place.load() == {"app": HALF}
    assert two.learned_place("p", POLICY).load() == {}  # another process's store


@pytest.mark.redis
def test_redis_shares_learned_values_across_stores(redis_url: str, key_prefix: str) -> None:
    one, two = _store(redis_url, key_prefix), _store(redis_url, key_prefix)
    try:
        place = one.learned_place(key_prefix, POLICY)
        assert place.remote is True
        assert place.lower("/user/info/", HALF) == HALF
        assert two.learned_place(key_prefix, POLICY).load() == {"/user/info/": HALF}
    finally:
        one.close()
        two.close()


@pytest.mark.redis
def test_the_fallback_does_not_ask_a_store_that_is_down(redis_url: str, key_prefix: str) -> None:
    store = _store(redis_url, key_prefix)
    assert isinstance(store, FallbackStore)
    store.stop_heartbeat()
    asked: list[str] = []
    connection = store.primary.connection

    def counted() -> Any:
        asked.append("connection")
        return connection()

    store.primary.connection = counted  # type: ignore[attr-defined]
    try:
        place = store.learned_place(key_prefix, POLICY)
        assert place.lower("app", HALF) == HALF and asked  # answering: asked
        asked.clear()
        store.failed(StorageError("down"))  # the fallback now counts alone
        with pytest.raises(StorageError, match="down"):
            place.load()
        with pytest.raises(StorageError):
            place.lower("app", HALF)
        assert asked == []  # failed at once: no timeout spent on the store
    finally:
        store.close()
