"""What a storage backend declares about itself, so the registry can find and open it;
and what an async transport asks of a store."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..core.clock import Clock
from ..core.windows import Admission, Store, Window


@dataclass(frozen=True)
class StoreOptions:
    """Everything a backend may need to open a store."""

    uri: str
    key_prefix: str
    margin: float
    use_storage_time: bool
    clock: Clock
    client_options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Backend:
    """One storage backend: the URI schemes it serves and how to open it.

    ``shared`` backends count for several processes (``open`` builds a
    :class:`SharedStore`); the registry puts an in-process fallback in front of them.
    ``requires`` names a client module that must be installed, and the command that
    installs it. ``check`` validates a URI at construction (it raises
    ConfigurationError); ``open`` builds the store, ``open_async`` its async face.
    """

    name: str
    schemes: frozenset[str]
    shared: bool
    open: Callable[[StoreOptions], Store]
    check: Callable[[str], None] = lambda uri: None
    requires: Callable[[str], tuple[str, str] | None] = lambda uri: None
    # The store's async face for async transports, given the store ``open`` built;
    # None: an in-process store, used from the event loop as it is (:class:`InProcess`).
    open_async: Callable[[Store, StoreOptions], AsyncStore] | None = None


class SharedStore(Store, Protocol):
    """A store that several processes share (the fallback's primary): what it adds for
    the fleet's heartbeat, the replay after an outage and the first inspection."""

    use_storage_time: bool

    def heartbeat(self, member: str, state: str, forget: float) -> list[Any]: ...

    def roster(self) -> list[Any]:
        """The fleet as the heartbeat sees it, read without joining it (the heartbeat's
        reply, without its writes)."""

    def replay(
        self, entries: Sequence[tuple[Window, Sequence[float], int, int]], now: float
    ) -> None: ...

    def inspect(self) -> list[str]: ...


class AsyncStore(Protocol):
    """What async admission asks of a store; the same all-or-nothing acquire, awaited."""

    async def acquire(
        self, windows: Sequence[Window], blocks: Sequence[str], now: float | None,
        share: float = 1.0,
    ) -> Admission: ...  # fmt: skip

    async def block(self, key: str, until: float, now: float) -> None: ...

    async def aclose(self) -> None: ...


class InProcess:
    """The limiter's in-process store, used from the event loop as it is.

    MemoryStore's critical section is pure computation under a threading lock held for
    microseconds, and nothing is awaited while it is held, so calling it from a task
    never blocks the loop for longer than a dict update; an asyncio lock would add a
    second lock without protecting anything more. Sharing the one store also keeps
    sync and async transports of a process on the same windows when they share it.
    """

    def __init__(self, store: Any) -> None:
        self.store = store

    async def acquire(
        self, windows: Sequence[Window], blocks: Sequence[str], now: float | None,
        share: float = 1.0,
    ) -> Admission:  # fmt: skip
        verdict: Admission = self.store.acquire(windows, blocks, now, share)
        return verdict

    async def block(self, key: str, until: float, now: float) -> None:
        self.store.block(key, until, now)

    async def aclose(self) -> None:
        pass
