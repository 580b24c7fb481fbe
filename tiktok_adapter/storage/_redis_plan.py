"""The admission command of one endpoint, encoded once, and how to read the script's reply.

The sync store and the async transport's store send the same command and read the same
reply, so both come from here.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..core.windows import ADMITTED, QUOTA_BLOCK, Admission, Window
from ._redis_lane import array_header, bulk, pack
from ._redis_scripts import SCRIPTS, block_slot

# Plans kept per store: every route, and a few per-token tuples (a new one per call).
_PLANS = 64


class Plan:
    """The command of one (windows, blocks) pair, encoded once: what every call repeats.

    ``head`` is the command up to its keys, ``tail`` the arguments after ``now`` and the
    share; ``found`` names what a binding index in the script's reply points at.
    ``prefix`` and ``suffix`` are the same in the Redis protocol, for the store's lane.
    """

    __slots__ = ("blocks", "found", "head", "prefix", "suffix", "tail", "windows")

    def __init__(self, windows: Sequence[Window], blocks: Sequence[str], tag: str, margin: float):
        self.windows, self.blocks = windows, blocks
        fields: dict[str, list[str]] = {}
        for block in blocks:
            name, field = block_slot(block)
            fields.setdefault(name, []).append(field)
        keys: list[bytes] = [f"{tag}:b:{name}".encode() for name in fields]
        keys.extend(f"{tag}:w:{w.key}".encode() for w in windows)
        tail: list[bytes] = [repr(margin).encode(), str(len(fields)).encode()]
        found: list[str | Window] = []
        for name, names in fields.items():
            tail.append(str(len(names)).encode())
            tail.extend(f.encode() for f in names)
            found.extend(f"{f}:{name}" if f else name for f in names)
        for w in windows:
            rate = w.rate
            # A calendar window charged more than one (records) says so: "1:<cost>".
            flag = (b"1:%d" % w.cost if w.cost > 1 else b"1") if rate.calendar else b"0"
            tail.extend((str(rate.amount).encode(), repr(float(rate.period)).encode(), flag))
            found.append(w)
        # Keys and arguments are bytes, so the client encodes nothing per call; the command
        # stays a str, which is how a cluster client recognises EVALSHA to route it by key.
        self.head: tuple[str | int | bytes, ...] = (
            "EVALSHA", SCRIPTS["acquire"].sha, len(keys), *keys,
        )  # fmt: skip
        self.tail = tuple(tail)
        self.found = tuple(found)
        self.prefix = array_header(len(self.head) + 2 + len(self.tail)) + pack(self.head)
        self.suffix = pack(self.tail)

    def admission(self, reply: object) -> Admission:
        """The script's reply: 0 when admitted, else "<wait> <binding>", binding counting the
        block fields first, then the windows, from 1."""
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

    def __init__(self, tag: str, margin: float) -> None:
        self.tag, self.margin = tag, margin
        self._plans: dict[tuple[int, int], Plan] = {}
        self._shares: dict[float, tuple[bytes, bytes]] = {}

    def get(self, windows: Sequence[Window], blocks: Sequence[str]) -> Plan:
        if type(windows) is not tuple or type(blocks) is not tuple:  # a list may change
            return Plan(windows, blocks, self.tag, self.margin)
        ident = (id(windows), id(blocks))
        plan = self._plans.get(ident)
        if plan is None or plan.windows is not windows or plan.blocks is not blocks:
            plan = Plan(windows, blocks, self.tag, self.margin)
            if len(self._plans) >= _PLANS:
                self._plans.clear()  # per-token windows make a new tuple on every call
            self._plans[ident] = plan
        return plan

    def share(self, share: float) -> tuple[bytes, bytes]:
        """The share argument, as text and packed."""
        held = self._shares.get(share)
        if held is None:
            text = repr(float(share)).encode()
            held = (text, bulk(text))
            if len(self._shares) < _PLANS:
                self._shares[share] = held
        return held
