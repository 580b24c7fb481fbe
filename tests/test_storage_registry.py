"""Storage backends are found by URI scheme; a new backend is one module that declares itself."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tiktok_adapter import ConfigurationError, FakeClock, TikTokAdapter, storage
from tiktok_adapter.storage.fallback import FallbackStore
from tiktok_adapter.storage.memory import MemoryStore

REDIS_FAMILY = {
    "redis", "rediss", "redis+unix", "redis+cluster", "rediss+cluster", "redis+sentinel",
    "rediss+sentinel", "valkey", "valkeys", "valkey+unix", "valkey+cluster",
    "valkeys+cluster", "valkey+sentinel", "valkeys+sentinel",
}  # fmt: skip


def test_every_scheme_has_one_backend() -> None:
    assert set(storage.BACKENDS) == REDIS_FAMILY | {"memory"}
    assert not storage.is_shared("memory://")
    assert all(storage.is_shared(f"{scheme}://host/0") for scheme in REDIS_FAMILY)


def test_an_unknown_scheme_names_the_valid_ones_without_the_password() -> None:
    with pytest.raises(ConfigurationError, match=r"memory://.*redis://") as info:
        storage.validate_storage_uri("mongodb://user:hunter2@db/0")
    assert "hunter2" not in str(info.value)


def test_shared_stores_come_behind_the_fallback(clock: FakeClock) -> None:
    def opened(uri: str) -> object:
        return storage.open_store(uri, key_prefix="t", margin=0.0, use_storage_time=False,
                                  clock=clock)  # fmt: skip

    assert isinstance(opened("memory://"), MemoryStore)
    assert isinstance(opened("redis://127.0.0.1:1/0"), FallbackStore)


BACKEND_MODULE = """
from tiktok_adapter.storage.base import Backend
from tiktok_adapter.storage.memory import MemoryStore

BACKEND = Backend("toy", frozenset({"toy"}), shared=False,
                  open=lambda options: MemoryStore(margin=options.margin, clock=options.clock))
"""


def test_a_new_backend_is_one_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "toy.py").write_text(BACKEND_MODULE)
    monkeypatch.setattr(storage, "__path__", [*storage.__path__, str(tmp_path)])
    monkeypatch.setattr(storage, "BACKENDS", storage._discover())
    monkeypatch.delitem(sys.modules, "tiktok_adapter.storage.toy", raising=False)
    adapter = TikTokAdapter(storage_uri="toy://anything")
    assert isinstance(adapter.store, MemoryStore)
