"""The memory store's plans (a route's windows, charged with no more than a length test
each) admit exactly what its full check admits: at a share below the whole window, with
a block on, and after a learned amount grew a window's log."""

from __future__ import annotations

from tiktok_adapter.core.rates import Rate
from tiktok_adapter.core.windows import Window
from tiktok_adapter.storage.memory import MemoryStore

NOW = 1_000.0


def window(amount: int, key: str = "w") -> tuple[Window, ...]:
    return (Window(key, Rate(amount, 60.0, False, f"{amount}/minute")),)


def admitted(store: MemoryStore, windows: tuple[Window, ...], times: int, **kw: object) -> int:
    return sum(store.acquire(windows, (), NOW, **kw).admitted for _ in range(times))  # type: ignore[arg-type]


def test_a_lower_share_fills_no_more_than_its_part() -> None:
    store, ten = MemoryStore(), window(10)
    assert admitted(store, ten, 2) == 2  # at the full share: the plan is made
    assert admitted(store, ten, 10, share=0.5) == 3  # half of 10 is 5, and 2 are in


def test_a_block_stops_what_the_plan_would_admit() -> None:
    store, ten = MemoryStore(), window(10)
    assert admitted(store, ten, 2) == 2
    store.block("b", NOW + 30.0, NOW)
    assert not store.acquire(ten, ("b",), NOW).admitted


def test_a_grown_log_is_the_one_counted() -> None:
    store = MemoryStore()
    two, four = window(2), window(4)  # one key: a learned amount raised from 2 to 4
    assert admitted(store, two, 1) == 1
    assert admitted(store, four, 1) == 1  # the log grows: a new one holds both entries
    assert admitted(store, two, 1) == 0  # 2 in the log already
    assert admitted(store, four, 5) == 2  # 4 in all, whichever tuple asks
