"""One process's membership of the fleet on a shared store: its name, what it heard of the
others, the heartbeat thread that keeps it in, and the last beat that says it left.

``fleet`` holds the rules (who counts, what a share is); ``fallback`` uses the view each
beat returns to keep the limits in an outage.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from ..core.clock import Clock
from ..core.forksafe import after_fork_in_child
from ..core.windows import StorageError
from .base import SharedStore
from .fleet import FORGET, LEFT, FleetView, Heartbeat, joined, new_member, parted, read_view


class Membership:
    """This process in the fleet on ``primary``: ``beat`` runs every heartbeat (in the
    thread that :attr:`heartbeat` starts), and ``answers`` says whether the store answers
    now, so that leaving never waits on one that does not."""

    def __init__(
        self,
        primary: SharedStore,
        clock: Clock,
        beat: Callable[[], None],
        answers: Callable[[], bool],
    ) -> None:
        self.primary = primary
        self.clock = clock
        self._answers = answers
        self.name = new_member()
        self._known: dict[str, float] = {}  # the fleet as this process heard it (read_view)
        # A forked child (a multiprocessing worker, a preloading web server's) is a member
        # of its own: under its parent's name the fleet would count two processes as one,
        # and give both that one's share of each window in an outage.
        after_fork_in_child(self, "name", new_member)
        after_fork_in_child(self, "_known", dict)
        self.heartbeat = Heartbeat(beat)

    def beat(self, state: str) -> FleetView:
        """Say this member is alive (``state``: "ok", or "out" while it counts alone); the
        fleet as it now stands. Raises StorageError when the store does not answer."""
        reply = self.primary.heartbeat(self.name, state, FORGET)
        view = read_view(reply, self.name, self._known, self.clock.now())
        joined(self)  # the fleet knows it now: it leaves at exit unless it leaves before
        return view

    def store_now(self) -> float:
        """The store's clock, read by a beat (raises StorageError)."""
        return float(self.primary.heartbeat(self.name, "ok", FORGET)[0])

    def leave(self) -> None:
        """End the heartbeat, and say in a last beat that this member left the fleet, if
        the fleet knows it and the store answers (also when the interpreter exits:
        ``fleet.joined``); used again, it beats again and rejoins."""
        self.heartbeat.pause()
        parted(self)
        if self._known and self._answers():
            with contextlib.suppress(StorageError):
                self.primary.heartbeat(self.name, LEFT, FORGET)
