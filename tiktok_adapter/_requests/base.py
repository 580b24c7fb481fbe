"""What the requests adapter holds besides its recipe: an ``HTTPAdapter`` with one Limiter
built from Settings, pickling that shares the windows, monitoring, and closing."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import requests
from requests.adapters import HTTPAdapter

from ..core.clock import Clock
from ..core.events import Hook, Hooks
from ..core.refusal import BODY_DEADLINE, RefusalPolicy
from ..core.routes import Route
from ..engine.facade import LimiterFacade
from ..engine.limiter import Limiter
from ..settings import Settings
from .problems import to_exception

if TYPE_CHECKING:
    from typing_extensions import Self, Unpack

    from ..settings import SettingsKwargs


class AdapterBase(LimiterFacade, HTTPAdapter):
    """An ``HTTPAdapter`` that holds a :class:`Limiter`; :class:`TikTokAdapter` adds the
    recipe. Its settings, hooks and pool sizes: see :class:`TikTokAdapter`."""

    __attrs__ = [*HTTPAdapter.__attrs__, "settings", "clock", "refusal_policy", "_id"]
    refusal_policy: RefusalPolicy | None
    _id: str  # the limiter's: a copy in this process shares its windows
    # Seconds a 429's body may take to read in all, however slowly it comes.
    body_deadline: float = BODY_DEADLINE
    # True while install() has this adapter under every Session of the process (set and
    # cleared by the installation; a class default, so an unpickled copy is not).
    _held_by_install: bool = False
    # True in a copy unpickled beside its original (copy.deepcopy of a Session): it shares
    # the original's limiter, so its close() leaves the shared store to the original's.
    _borrowed: bool = False

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        clock: Clock | None = None,
        refusal_policy: RefusalPolicy | None = None,
        on_wait: Hook | None = None,
        on_rate_limited: Hook | None = None,
        on_retry: Hook | None = None,
        random_source: Callable[[], float] | None = None,
        pool_connections: int = 10,
        pool_maxsize: int = 10,
        pool_block: bool = False,
        **options: Unpack[SettingsKwargs],
    ) -> None:
        given = Settings.given(type(self).__name__, settings, options, type(self).__init__)
        self.refusal_policy: RefusalPolicy | None = refusal_policy
        # urllib3 must never re-send on its own: every attempt on the wire has to
        # pass admission, so its retries are off and ours run in send().
        super().__init__(
            pool_connections=pool_connections,
            pool_maxsize=pool_maxsize,
            max_retries=0,
            pool_block=pool_block,
        )
        self._limit(
            given, clock, errors=to_exception, refusal_policy=refusal_policy,
            random_source=random_source,
            hooks={"on_wait": on_wait, "on_rate_limited": on_rate_limited, "on_retry": on_retry},
        )  # fmt: skip
        self._id = self.limiter.id

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> Self:
        return cls(settings, **kwargs)

    def __getstate__(self) -> dict[str, Any]:
        state: dict[str, Any] = super().__getstate__()  # type: ignore[misc]
        state["_hooks"] = self.hooks.picklable()
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        # HTTPAdapter restores __attrs__ and its pools; the limiter is shared with the
        # adapter we are a copy of when it lives in this process, else built anew.
        hooks = state.pop("_hooks", {})
        super().__setstate__(state)  # type: ignore[misc]
        original = Limiter.alive(self._id)
        if original is not None:
            self.limiter = original
            self._borrowed = True
        else:
            self.limiter = Limiter(
                self.settings, self.clock, errors=to_exception,
                refusal_policy=self.refusal_policy, hooks=Hooks.restore(hooks),
            )  # fmt: skip
            self._id = self.limiter.id

    def resolve(self, request: requests.PreparedRequest) -> Route:
        """The route (windows and block keys) for the request's URL path."""
        return self.limiter.routes.resolve(request.url or "")

    # -- monitoring (stats, budget, add_hook, hooks, store: see LimiterFacade) -----------

    def record_cache(self, request: requests.PreparedRequest, hit: bool) -> None:
        """Count a cache hit or miss for the request's endpoint (called by the cache layer)."""
        self.limiter.record_cache(self.resolve(request), hit)

    def close(self) -> None:
        """Release connections; the windows, blocks and stats live as long as the adapter.

        requests' ``Session.close()`` (and every ``with Session()`` block) closes each
        mounted adapter, and one adapter may serve many sessions, so closing never
        forgets what was admitted. Safe to call any number of times.

        While :func:`~tiktok_adapter.install` has the adapter under every Session of the
        process, closing does nothing: ``requests.get()`` closes a Session of its own on
        every call, and that must neither drop the pooled connections of the Sessions
        still open nor take the process out of a Redis fleet. ``uninstall()`` closes the
        adapter that ``install()`` made. A copy of the adapter in the process it was copied
        in (``copy.deepcopy`` of a Session) closes its own connections only: the store is
        its original's, and closing the copy must not take the original out of the fleet.
        """
        if self._held_by_install:
            return
        super().close()
        if not self._borrowed:
            self.store.close()
