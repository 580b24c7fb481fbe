"""What every transport shows of its limiter: counters, budget, hooks and its parts."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..core.budget import Budget
from ..core.clock import SYSTEM_CLOCK, Clock
from ..core.events import Hook, Hooks
from ..core.refusal import RefusalPolicy
from ..core.stats import Stats
from ..priority import Priority
from ..settings import Settings
from .limiter import Limiter
from .steps import ErrorFactory


class LimiterFacade:
    """The monitoring methods of a transport that holds a :class:`Limiter` as ``limiter``,
    and the one way every transport builds it (:meth:`_limit`)."""

    limiter: Limiter
    settings: Settings
    clock: Clock

    def _limit(
        self,
        settings: Settings,
        clock: Clock | None,
        *,
        errors: ErrorFactory,
        refusal_policy: RefusalPolicy | None = None,
        hooks: Mapping[str, Hook | None] | None = None,
        random_source: Callable[[], float] | None = None,
    ) -> None:
        """Set ``settings``, ``clock`` (the system's unless given) and a new ``limiter``
        raising ``errors``' flavour, with ``hooks`` ("on_wait": hook, ...) registered."""
        self.settings = settings
        self.clock = clock if clock is not None else SYSTEM_CLOCK
        self.limiter = Limiter(
            settings, self.clock, errors=errors, refusal_policy=refusal_policy, hooks=Hooks(),
            random_source=random_source,
        )  # fmt: skip
        for name, hook in (hooks or {}).items():
            if hook is not None:
                self.limiter.hooks.add(name, hook)

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
