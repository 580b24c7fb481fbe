"""What the requests adapter holds besides its constructor and recipe: pickling that shares
the windows, monitoring, and closing."""

from __future__ import annotations

from typing import Any

import requests
from requests.adapters import HTTPAdapter

from ..core.events import Hooks
from ..core.refusal import BODY_DEADLINE, RefusalPolicy
from ..core.routes import Route
from ..engine.facade import LimiterFacade
from ..engine.limiter import Limiter
from .problems import to_exception


class AdapterBase(LimiterFacade, HTTPAdapter):
    """An ``HTTPAdapter`` that holds a :class:`Limiter` (built by its subclass,
    :class:`TikTokAdapter`, which adds the constructor and the recipe)."""

    __attrs__ = [*HTTPAdapter.__attrs__, "settings", "clock", "refusal_policy", "_id"]
    refusal_policy: RefusalPolicy | None
    _id: str  # the limiter's: a copy in this process shares its windows
    # Seconds a 429's body may take to read in all, however slowly it comes.
    body_deadline: float = BODY_DEADLINE

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
        """
        super().close()
        self.store.close()
