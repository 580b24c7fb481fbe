"""What both httpx transports hold: settings, one Limiter, and the monitoring methods."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..core.clock import SYSTEM_CLOCK, Clock
from ..core.events import Hook, Hooks
from ..core.refusal import RefusalPolicy
from ..engine.facade import LimiterFacade
from ..engine.limiter import Limiter
from ..exceptions import ConfigurationError
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


class LimitedTransport(LimiterFacade):
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
