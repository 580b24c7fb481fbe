"""uninstall() racing Sessions being created: none keeps the adapter once uninstall returns."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator

import pytest
import requests

from tiktok_adapter import TikTokAdapter, install, installed, uninstall
from tiktok_adapter._requests.mounting import HostRouter
from tiktok_adapter.testing import FakeClock

WORKERS = 4
TOGGLES = 1500


def carries(session: requests.Session, adapter: TikTokAdapter) -> bool:
    return any(
        mounted is adapter or (isinstance(mounted, HostRouter) and mounted.target is adapter)
        for mounted in session.adapters.values()
    )


@pytest.fixture
def busy_switching() -> Iterator[None]:
    # Threads switch often, so an __init__ is often caught halfway through uninstall().
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(before)
    if installed() is not None:
        uninstall()


def test_no_session_keeps_the_adapter_after_uninstall_returns(busy_switching: None) -> None:
    adapter = TikTokAdapter(clock=FakeClock())
    made: list[tuple[requests.Session, int]] = []  # each Session, and when its __init__ ended
    uninstalled_at: list[int] = []  # when each uninstall() returned
    stop = threading.Event()

    def create() -> None:
        while not stop.is_set():
            session = requests.Session()
            made.append((session, time.monotonic_ns()))

    threads = [threading.Thread(target=create) for _ in range(WORKERS)]
    for thread in threads:
        thread.start()
    try:
        for _ in range(TOGGLES):
            install(adapter)
            uninstall()
            uninstalled_at.append(time.monotonic_ns())
    finally:
        stop.set()
        for thread in threads:
            thread.join()

    # Nothing is installed now, so no Session may carry the adapter, however it was made;
    # the ones whose __init__ ended after an uninstall() returned are the case.
    kept = [ended for s, ended in made if carries(s, adapter)]
    late = sum(1 for ended in kept if any(ended > done for done in uninstalled_at))
    assert len(made) > 100  # Sessions were made all along, so the race was run
    assert (len(kept), late) == (0, 0), f"{len(kept)} kept it, {late} ended after uninstall()"
    # The control: a Session made now is plain.
    assert not carries(requests.Session(), adapter)
