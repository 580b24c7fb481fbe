"""Late answers: when one calls for a request's window entries to move (core/lateness.py)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Protocol

from ..core.clock import Clock
from ..core.lateness import Lateness
from ..core.routes import Route
from ..core.windows import Store, Window
from .effects import Redate, Redater
from .steps import ADMISSION


class _Redater(Protocol):
    """A store's ``redate``; a shared store's also takes the stamp its admission gave
    (``Admission.stamp``), which only such a store's admission carries."""

    def __call__(self, windows: Sequence[Window], now: float, elapsed: float, shift: float,
                 stamp: float | None = None) -> None: ...  # fmt: skip


def _at_stamp(redate: _Redater, stamp: float, windows: Sequence[Window], now: float,
              elapsed: float, shift: float) -> None:  # fmt: skip
    redate(windows, now, elapsed, shift, stamp)


class LateAnswers:
    """Compares each answer's time since its admission with the endpoint's usual time.

    The admission was recorded by the admitter in this thread or task (``ADMISSION``);
    an answer later than usual by more than ``margin`` yields a :class:`Redate` for the
    limiter to run, on a store that can move entries (``redate``).
    """

    def __init__(self, store: Store, clock: Clock, margin: float) -> None:
        self.store = store
        self.clock = clock
        self.margin = margin
        self.lateness = Lateness()
        self._redate: _Redater | None = getattr(store, "redate", None)

    def after(self, route: Route, now: float, *, answered: bool = True) -> Redate | None:
        """The call admitted last in this thread or task ended at ``now``: the move that
        calls for, if any. An answer teaches the estimate; a call that failed without
        one (``answered=False``) may have reached the server at any moment until then,
        and its time says nothing of how long answers take, so it teaches nothing."""
        held = ADMISSION.get()
        if held is None or held[0] is not self.store:
            return None
        _, windows, asked, verdict = held
        # Counted when the store says, else when it was asked (see Admission.at).
        stamp = asked if verdict.at is None else verdict.at
        lateness = self.lateness
        measure = lateness.excess if answered else lateness.beyond
        excess = measure(route.name, now - stamp)
        if excess <= self.margin:
            return None
        ADMISSION.set(None)  # moved once, however many answers read it
        if self._redate is None:
            return None
        redate: Redater = self._redate
        if verdict.stamp is not None:  # the shared store said where its entries are
            redate = partial(_at_stamp, self._redate, verdict.stamp)
        # The margin covers that much of the lateness already.
        return Redate(redate, self.clock, route.name, windows, stamp, excess - self.margin)
