"""Who shares the quota: each process's heartbeat in Redis, and its share during an outage.

Every process that counts on a shared store says every ``HEARTBEAT`` seconds, off the
request path, that it is alive (``lua/members.lua``), and reads who else is. From that
each knows the live fleet's size, its own rank in it, and whether the fleet is *settled*:
every other member heard from within ``LATE`` seconds. While the store cannot be
reached, or while the fleet is not settled (a member that stopped beating may be
counting alone), a process admits at most its share of each window (``FleetView.cap``):
the limit divided among the members, the remainder going to the lowest ranks, so that
the shares add up to the limit exactly. This module decides; ``fallback`` does the rest.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import uuid
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

logger = logging.getLogger(__name__)

HEARTBEAT = 1.0  # seconds between two heartbeats of one process
LATE = 2.5  # a member silent this long may be counting alone: the fleet is not settled
FORGET = 30.0  # a member silent this long has left the fleet (it stopped, or was cut off)
# The state a member's last beat gives when it closes: it counts no more, anywhere. A
# member that just went silent may be cut off and counting alone, so the others keep to
# their shares until it is forgotten; one that said it left is gone at once (a worker that
# finished held the rest of the fleet to its shares for 30 s).
LEFT = "left"


@dataclass(frozen=True)
class FleetView:
    """The fleet as the last heartbeat saw it."""

    size: int = 1
    rank: int = 0
    settled: bool = True

    def cap(self, amount: int) -> int:
        """This member's share of ``amount``: the shares of all members add up to it."""
        if amount <= 0:
            return 0
        base, extra = divmod(amount, self.size)
        return base + (1 if self.rank < extra else 0)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def read_view(
    reply: Sequence[Any], me: str, known: dict[str, float] | None = None, local: float = 0.0
) -> FleetView:
    """The view from ``lua/members.lua``'s reply: {now, member, seen, state, ...}.

    ``known`` (member -> when it was last heard from, on the local clock, whose reading
    is ``local``) is this process's memory of the fleet, updated here. A member it heard
    from within ``FORGET`` that the reply lacks (a restarted Redis lost the members, a
    promoted replica never had the last beats) still counts, and the fleet is not
    settled: it may be counting alone, and reading the empty store as a fleet of one
    would let this process take the whole of every window."""
    now = float(_text(reply[0]))
    live: list[str] = []
    settled = True
    for i in range(1, len(reply) - 2, 3):
        member, seen, state = _text(reply[i]), float(_text(reply[i + 1])), _text(reply[i + 2])
        if state == LEFT and member != me:
            if known is not None:
                known.pop(member, None)
            continue
        if now - seen > FORGET:
            continue
        live.append(member)
        if known is not None:
            known[member] = local - (now - seen)
        if member != me and (now - seen > LATE or state != "ok"):
            settled = False
    if known is not None:
        for member, heard in list(known.items()):
            if local - heard > FORGET:
                del known[member]
            elif member not in live:
                live.append(member)
                settled = False
    if me not in live:
        live.append(me)
    live.sort()
    return FleetView(len(live), live.index(me), settled)


def new_member() -> str:
    """A name no other process has: no host name, nothing about the user."""
    return uuid.uuid4().hex[:16]


class Heartbeat:
    """A daemon thread that calls ``beat`` every ``HEARTBEAT`` seconds.

    Started on first use; a forked child starts its own (threads do not survive a fork).
    :meth:`pause` ends the thread until the next use (a store closed, then used again);
    :meth:`stop` ends it for good (tests beat by hand, on the fake clock).
    """

    def __init__(self, beat: Callable[[], None], interval: float = HEARTBEAT) -> None:
        self._beat = beat
        self._interval = interval
        self._stopped = False
        self._running: threading.Event | None = None  # the running thread's signal to end
        self._pid = 0
        self._lock = threading.Lock()

    def ensure(self) -> None:
        """Start the thread unless this process already runs it (one integer compare)."""
        if self._pid == os.getpid() or self._stopped:
            return
        with self._lock:
            if self._pid == os.getpid() or self._stopped:
                return
            self._pid = os.getpid()
            self._running = ending = threading.Event()
            thread = threading.Thread(
                target=self._run, args=(ending,), name="tiktok-adapter-heartbeat"
            )
            thread.daemon = True
            thread.start()

    def _run(self, ending: threading.Event) -> None:
        while not ending.is_set():
            try:
                self._beat()
            except Exception:  # a heartbeat must never die of one bad turn
                logger.debug("heartbeat failed", exc_info=True)
            ending.wait(self._interval)

    def pause(self) -> None:
        """End the thread; the next :meth:`ensure` starts another."""
        with self._lock:
            if self._running is not None:
                self._running.set()
            self._running = None
            self._pid = 0

    def stop(self) -> None:
        """End the thread, and start none again."""
        self._stopped = True
        self.pause()


class Member(Protocol):
    def leave(self) -> None:
        """Say in a last beat that this process left the fleet, if the fleet knows it."""


# The members this process is in a fleet as, to leave when the interpreter exits: a script
# that ends without closing its adapter held the rest of the fleet to its shares for 30 s.
# Weak, so that a store dropped is forgotten. (A multiprocessing worker on fork ends with
# os._exit, which runs no exit hook: it still ages out, unless it closes its adapter.)
_MEMBERS: weakref.WeakSet[Member] = weakref.WeakSet()


def joined(member: Member) -> None:
    """``member`` beat: leave when the interpreter exits, unless it leaves before."""
    _MEMBERS.add(member)


def parted(member: Member) -> None:
    """``member`` left (or will say so itself): nothing to do at exit."""
    _MEMBERS.discard(member)


@atexit.register
def _leave_at_exit() -> None:
    for member in list(_MEMBERS):
        try:
            member.leave()
        except Exception:  # exiting: one store that fails must not keep the others in
            logger.debug("leaving the fleet at exit failed", exc_info=True)
