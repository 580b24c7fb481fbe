"""Work on the store after an answer: a refund, a learned limit, a block, a late request's
entries moved. The limiter returns them as data, in an :class:`Outcome`; the transport
runs them with its own runner.

Each may be a round trip to a shared store, so the sync transports run them at once
(:func:`run`) and the async one runs them off the event loop.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from ..core.clock import Clock
from ..core.refusal import Refusal
from ..core.windows import StorageError, Store, Window

logger = logging.getLogger("tiktok_adapter")

Effect = Callable[[], None]
Effects = tuple[Effect, ...]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What an answer leaves the transport to do: the refusal it was (None: the answer
    goes back to the caller), and the work on the store it calls for."""

    refusal: Refusal | None = None
    effects: Effects = ()


def run(effects: Effects) -> None:
    """The sync runner: each effect at once, in order, in the calling thread."""
    for effect in effects:
        effect()


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


@dataclass(frozen=True, slots=True)
class Redate:
    """An effect that moves a late request's window entries ``shift`` later.

    Its answer came back later than the endpoint's usual time by more than the safety
    margin (see :mod:`tiktok_adapter.core.lateness`), so it may have reached the server
    that much later than it was admitted. ``asked`` is the admission's reading of
    ``clock``; the store is told how long ago that was when the effect runs, which on
    the async transport is a moment after the answer. ``stamp`` is where a shared store
    stamped the entries itself (``Admission.stamp``), when it said.
    """

    store: Store
    clock: Clock
    route: str
    windows: tuple[Window, ...]
    asked: float
    shift: float
    stamp: float | None = None

    def __call__(self) -> None:
        now = self.clock.now()
        logger.debug("%s answered %.3f s later than usual; its window entries move by that "
                     "less the margin", self.route, self.shift)  # fmt: skip
        try:
            self.store.redate(self.windows, now, now - self.asked, self.shift, self.stamp)
        except StorageError as exc:
            logger.warning("could not move the window entries of a late %s: %s", self.route, exc)
