"""The admission command of one endpoint, encoded once, and how to read the script's reply.

The sync store and the async transport's store send the same command and read the same
reply, so both come from here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ..core.windows import ADMITTED, QUOTA_BLOCK, Admission, Window
from ._redis_scripts import SCRIPTS, Keys, block_slot

# Plans kept per store: every route, and a few per-token tuples (a new one per call).
_PLANS = 64


class Plan:
    """The command of one (windows, blocks) pair, encoded once: what every call repeats.

    ``head`` is the command up to its keys, ``tail`` the arguments after ``now``, the
    share and the calendar time; ``found`` names what a binding index in the script's
    reply points at; ``calendar`` says whether a window counts calendar periods (only
    then does a call read the calendar time).
    """

    __slots__ = ("blocks", "calendar", "found", "head", "names", "tail", "windows")

    def __init__(self, windows: Sequence[Window], blocks: Sequence[str], keys: Keys,
                 margin: float) -> None:  # fmt: skip
        self.windows, self.blocks = windows, blocks
        fields: dict[str, list[str]] = {}
        for block in blocks:
            name, field = block_slot(block)
            fields.setdefault(name, []).append(field)
        names: list[bytes] = [keys.block(name).encode() for name in fields]
        names.extend(keys.window(w.key).encode() for w in windows)
        tail: list[bytes] = [repr(margin).encode(), str(len(fields)).encode()]
        found: list[str | Window] = []
        for name, held in fields.items():
            tail.append(str(len(held)).encode())
            tail.extend(f.encode() for f in held)
            found.extend(f"{f}:{name}" if f else name for f in held)
        for w in windows:
            rate = w.rate
            # A calendar window charged more than one (records) says so: "1:<cost>".
            flag = (b"1:%d" % w.cost if w.cost > 1 else b"1") if rate.calendar else b"0"
            tail.extend((str(rate.amount).encode(), repr(float(rate.period)).encode(), flag))
            found.append(w)
        # Keys and arguments are bytes, so the client encodes nothing per call; the command
        # stays a str, which is how a cluster client recognises EVALSHA to route it by key.
        self.head: tuple[str | int | bytes, ...] = (
            "EVALSHA", SCRIPTS["acquire"].sha, len(names), *names,
        )  # fmt: skip
        self.names = tuple(names)
        self.calendar = any(w.rate.calendar for w in windows)
        self.tail = tuple(tail)
        self.found = tuple(found)

    def keys_and_args(
        self, now_arg: bytes, share_arg: bytes, calendar_arg: bytes
    ) -> tuple[list[bytes], list[bytes]]:
        """The script's keys and arguments apart (for ``_redis_scripts.run``)."""
        return list(self.names), [now_arg, share_arg, calendar_arg, *self.tail]

    def admission(self, reply: object) -> Admission:
        """The script's reply: [0, the stamp of the entries, what each window holds] when
        admitted, else "<wait> <binding>", binding counting the block fields first, then
        the windows, from 1."""
        if type(reply) is list:
            return Admission(True, held=tuple(reply[2:]), stamp=float(reply[1]))
        if reply == 0:
            return ADMITTED
        text = reply.decode() if isinstance(reply, bytes) else str(reply)
        wait_text, _, binding_text = text.partition(" ")
        what = self.found[int(binding_text) - 1]
        if isinstance(what, str):
            return Admission(False, float(wait_text), "server", what.startswith(QUOTA_BLOCK))
        rate = what.rate
        return Admission(False, float(wait_text), rate.text, rate.calendar, rate)


class Plans:
    """A store's plans, by the identity of the caller's tuples (a route's are built once).

    Each plan holds its tuples, so an id cannot be reused while its plan is here.
    """

    def __init__(self, keys: Keys, margin: float) -> None:
        self.keys, self.margin = keys, margin
        self._plans: dict[tuple[int, int], Plan] = {}
        self._shares: dict[float, bytes] = {}

    def get(self, windows: Sequence[Window], blocks: Sequence[str]) -> Plan:
        if type(windows) is not tuple or type(blocks) is not tuple:  # a list may change
            return Plan(windows, blocks, self.keys, self.margin)
        ident = (id(windows), id(blocks))
        plan = self._plans.get(ident)
        if plan is None or plan.windows is not windows or plan.blocks is not blocks:
            plan = Plan(windows, blocks, self.keys, self.margin)
            if len(self._plans) >= _PLANS:
                self._plans.clear()  # per-token windows make a new tuple on every call
            self._plans[ident] = plan
        return plan

    def calendar(self, plan: Plan, wall: Callable[[], float]) -> bytes:
        """The calendar-time argument: ``wall()`` when ``plan`` has a calendar window (the
        API's calendar is UTC as the caller's clock tells it, not as Redis's does)."""
        return repr(wall()).encode() if plan.calendar else b""

    def share(self, share: float) -> bytes:
        """The share argument, as text."""
        held = self._shares.get(share)
        if held is None:
            held = repr(float(share)).encode()
            if len(self._shares) < _PLANS:
                self._shares[share] = held
        return held
