"""Storage backends are found by URI scheme; a new backend is one module that declares itself."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from tiktok_adapter import ConfigurationError, TikTokAdapter, storage
from tiktok_adapter.storage.fallback import FallbackStore
from tiktok_adapter.storage.memory import MemoryStore
from tiktok_adapter.testing import FakeClock

# Storage URIs as the README writes them (its Redis, Sentinel and Cluster URIs), not the
# registry's table: what a user may pass is judged by what the package does with it.
SHARED = (
    "redis://127.0.0.1:6379/0",
    "rediss://127.0.0.1:6380/0",
    "redis+unix:///var/run/redis.sock",
    "redis+sentinel://:secret@127.0.0.1:26379,127.0.0.1:26380/mymaster",
    "redis+cluster://:secret@127.0.0.1:7000,127.0.0.1:7001",
)
VALKEY = ("valkey://127.0.0.1:6379/0", "valkey+cluster://127.0.0.1:7000")


@pytest.mark.parametrize("uri", SHARED)
def test_each_documented_redis_uri_is_a_shared_store(uri: str) -> None:
    storage.validate_storage_uri(uri)
    assert storage.is_shared(uri)


def test_memory_is_a_store_of_the_process_alone() -> None:
    storage.validate_storage_uri("memory://")
    assert not storage.is_shared("memory://")


@pytest.mark.parametrize("uri", VALKEY)
def test_valkey_uris_are_shared_or_say_how_to_install_valkey(uri: str) -> None:
    if importlib.util.find_spec("valkey") is None:
        with pytest.raises(ConfigurationError, match="pip install valkey"):
            storage.validate_storage_uri(uri)
    else:
        storage.validate_storage_uri(uri)
        assert storage.is_shared(uri)


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
