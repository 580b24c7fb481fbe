"""One registry, by URI scheme, for sync and async: a backend declares its async face."""

from __future__ import annotations

import asyncio

from tiktok_adapter.core.rates import parse_rates
from tiktok_adapter.core.windows import Window
from tiktok_adapter.storage import BACKENDS, open_async_store, open_store
from tiktok_adapter.storage.base import InProcess
from tiktok_adapter.testing import FakeClock


def test_an_in_process_store_is_used_from_the_loop_as_it_is() -> None:
    clock = FakeClock()
    store = open_store("memory://", key_prefix="t", margin=0.0, use_storage_time=False,
                       clock=clock)  # fmt: skip
    astore = open_async_store(store, "memory://", key_prefix="t", margin=0.0,
                              use_storage_time=False, clock=clock)  # fmt: skip
    assert isinstance(astore, InProcess) and astore.store is store
    (rate,) = parse_rates("1/minute", "limits")
    window = Window("w", rate)
    assert asyncio.run(astore.acquire([window], [], clock.now())).admitted
    assert not store.acquire([window], [], clock.now()).admitted  # one window, both faces


def test_every_shared_backend_declares_its_async_face() -> None:
    for scheme, backend in BACKENDS.items():
        assert (backend.open_async is not None) == backend.shared, scheme
