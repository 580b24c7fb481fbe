"""Work on the store after an answer: a refund, a learned limit, a block (see Limiter.defer).

Each may be a round trip to a shared store, so the sync transports run it at once and the
async one runs it off the event loop.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from ..core.windows import StorageError, Store

logger = logging.getLogger("tiktok_adapter")

Effect = Callable[[], None]


@dataclass(frozen=True, slots=True)
class BlockWrite:
    """An effect that shares a server's block of an endpoint through the store.

    A transport with an async client for the store may write it there (``key``,
    ``until``, ``now``) instead of calling it; calling it writes through the sync store.
    """

    store: Store
    route: str
    key: str
    until: float
    now: float

    def __call__(self) -> None:
        try:
            self.store.block(self.key, self.until, self.now)
        except StorageError as exc:
            logger.warning("could not share the block of %s: %s", self.route, exc)
