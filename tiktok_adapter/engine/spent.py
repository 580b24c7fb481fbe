"""The effect of ``Remaining: 0`` with a whole-second reset: a block decided on our count.

A reset in whole seconds, measured from a Date in whole seconds, names a moment up to
two seconds after the server's true one (core/headers.py, ``reset_slack``). Blocking the
endpoint until then turns a one-second window into a block of up to three. So the effect
first reads how our own windows of the endpoint stand in the store, and
:func:`~tiktok_adapter.core.refusal.exhausted` decides: until our window frees when it
explains the server's 0, else until the server's reset.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ..core.clock import Clock
from ..core.headers import RateInfo
from ..core.refusal import OwnWindow, exhausted
from ..core.retry import RetryPolicy
from ..core.windows import StorageError, Store, Window
from .effects import BlockWrite

logger = logging.getLogger("tiktok_adapter")


@dataclass(frozen=True, slots=True)
class SpentBlock:
    """Counts ``windows`` in the store, then blocks the endpoint (``blocks``: its block
    and quota-block keys) as long as the rules say. A round trip or two on a shared
    store, so the async runner runs it in a thread, like every effect but a BlockWrite."""

    store: Store
    clock: Clock
    route: str
    blocks: tuple[str, ...]
    windows: tuple[Window, ...]
    info: RateInfo
    retry: RetryPolicy

    def __call__(self) -> None:
        now = self.clock.now()
        try:
            own = [self._own(window, now) for window in self.windows]
        except StorageError as exc:  # no count: the server's reset, as it says
            logger.debug("could not count %s for its server's Remaining: 0: %s", self.route, exc)
            own = []
        closed = exhausted(self.info, now, self.retry, own)
        if closed is not None:
            key = self.blocks[1 if closed.quota else 0]
            BlockWrite(self.store, self.route, key, closed.until, now)()

    def _own(self, window: Window, now: float) -> OwnWindow:
        usage = self.store.usage(window, now)
        return OwnWindow(window.rate.amount, usage.used, usage.resets_at)
