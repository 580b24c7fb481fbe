"""Late answers: when one calls for a request's window entries to move (core/lateness.py)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ..core.clock import Clock
from ..core.lateness import Lateness
from ..core.routes import Route
from ..core.windows import Store, Window
from .effects import Redate
from .waiting import ADMISSION

Redater = Callable[[Sequence[Window], float, float, float], None]


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
        self._redate: Redater | None = getattr(store, "redate", None)

    def answered(self, route: Route, now: float) -> Redate | None:
        """An answer came at ``now``: the move it calls for, if any; the estimate learns."""
        held = ADMISSION.get()
        if held is None or held[0] is not self.store:
            return None
        excess = self.lateness.excess(route.name, now - held[2])
        return self._move(route, held[1], held[2], excess) if excess > self.margin else None

    def failed(self, route: Route, now: float) -> Redate | None:
        """A call failed at ``now`` without an answer. It may have reached the server at
        any moment until then; its time says nothing of how long answers take, so the
        estimate learns nothing."""
        held = ADMISSION.get()
        if held is None or held[0] is not self.store:
            return None
        excess = self.lateness.beyond(route.name, now - held[2])
        return self._move(route, held[1], held[2], excess) if excess > self.margin else None

    def _move(
        self, route: Route, windows: tuple[Window, ...], stamp: float, excess: float
    ) -> Redate | None:
        ADMISSION.set(None)  # moved once, however many answers read it
        if self._redate is None:
            return None
        # The margin covers that much of the lateness already.
        return Redate(self._redate, self.clock, route.name, windows, stamp, excess - self.margin)
