"""What both httpx transports hold: settings, one Limiter, and the monitoring methods."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..core.budget import Budget
from ..core.clock import SYSTEM_CLOCK, Clock
from ..core.events import Hook, Hooks
from ..core.refusal import RefusalPolicy
from ..core.stats import Stats
from ..engine.limiter import Limiter
from ..exceptions import ConfigurationError
from ..priority import Priority
from ..settings import Settings
from ._errors import to_exception

HOOK_NAMES = ("on_wait", "on_rate_limited", "on_retry")


def settings_from(owner: str, settings: Settings | None, options: dict[str, Any]) -> Settings:
    """``settings`` (or the defaults) with the keyword ``options`` over them."""
    if settings is not None and not isinstance(settings, Settings):
        raise ConfigurationError(
            f"{owner}(settings={settings!r}): the first argument must be a Settings object "
            "or None; pass settings as keywords, such as on_limit='raise'"
        )
    base = settings if settings is not None else Settings()
    return base.replace(**options) if options else base


class LimitedTransport:
    """The limiter and monitoring of a transport; the subclasses send, sleep and raise."""

    limiter_class: type[Limiter] = Limiter

    def _setup(
        self,
        settings: Settings | None,
        options: dict[str, Any],
        *,
        clock: Clock | None,
        refusal_policy: RefusalPolicy | None,
        random_source: Callable[[], float] | None,
        hooks: dict[str, Hook | None],
    ) -> None:
        self.settings = settings_from(type(self).__name__, settings, options)
        self.clock: Clock = clock if clock is not None else SYSTEM_CLOCK
        self.limiter = self.limiter_class(
            self.settings, self.clock, errors=to_exception, refusal_policy=refusal_policy,
            hooks=Hooks(), random_source=random_source,
        )  # fmt: skip
        for name, hook in hooks.items():
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
