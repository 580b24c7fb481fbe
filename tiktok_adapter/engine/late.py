"""Late answers: when one calls for a request's window entries to move (core/lateness.py)."""

from __future__ import annotations

from ..core.clock import Clock
from ..core.lateness import Lateness
from ..core.routes import Route
from ..core.windows import Store
from .effects import Redate
from .steps import ADMISSION


class LateAnswers:
    """Compares each answer's time since its admission with the endpoint's usual time.

    The admission was recorded by the admitter in this thread or task (``ADMISSION``);
    an answer later than usual by more than ``margin`` yields a :class:`Redate` for the
    transport to run.
    """

    def __init__(self, store: Store, clock: Clock, margin: float) -> None:
        self.store = store
        self.clock = clock
        self.margin = margin
        self.lateness = Lateness()

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
        # The margin covers that much of the lateness already.
        return Redate(self.store, self.clock, route.name, windows, stamp, excess - self.margin,
                      verdict.stamp)  # fmt: skip
