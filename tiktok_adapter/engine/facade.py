"""What every transport shows of its limiter: counters, budget, hooks and its parts."""

from __future__ import annotations

from typing import Any

from ..core.budget import Budget
from ..core.events import Hook, Hooks
from ..core.stats import Stats
from ..priority import Priority
from .limiter import Limiter


class LimiterFacade:
    """The monitoring methods of a transport that holds a :class:`Limiter` as ``limiter``."""

    limiter: Limiter

    def stats(self) -> Stats:
        """A frozen snapshot of the counters, per endpoint and in total."""
        return self.limiter.stats()

    def budget(self) -> Budget:
        """Each window's limit, remaining and reset, from the storage (the fleet's on Redis).

        It reads the store synchronously: from async code, ``await asyncio.to_thread(
        transport.budget)`` keeps a Redis round trip off the event loop.
        """
        return self.limiter.budget()

    def add_hook(self, name: str, hook: Hook) -> None:
        """Register ``hook`` for "on_wait", "on_rate_limited" or "on_retry"."""
        self.limiter.hooks.add(name, hook)

    @property
    def hooks(self) -> Hooks:
        return self.limiter.hooks

    @property
    def store(self) -> Any:
        return self.limiter.store

    @property
    def default_priority(self) -> Priority:
        return self.limiter.default_priority
