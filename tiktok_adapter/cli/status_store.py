"""What ``tiktok-adapter status`` says of a shared store: answering or degraded, the fleet.

The fleet is read without joining it (``lua/fleet.lua``): the heartbeat script would make
this command a member, silent as soon as it exits, and a silent member unsettles the
fleet, every process at its share, for half a minute.
"""

from __future__ import annotations

import datetime
import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..exceptions import StorageUnavailable
from ..settings import redact
from ..storage.fallback import FallbackStore
from ..storage.fleet import FORGET, LATE
from ..storage.uri import describe_error, uri_secrets
from .output import Column, Output, TextTable


class MemberState(str, enum.Enum):
    OK = "ok"
    ALONE = "counting alone"  # it lost the store and has not replayed its outage yet
    SILENT = "silent"  # not heard from for LATE seconds: it may be counting alone


@dataclass(frozen=True)
class Member:
    name: str
    seen: float  # its last heartbeat, on Redis's clock
    state: MemberState


@dataclass(frozen=True)
class StoreReport:
    """The store's health as ``status`` sees it (the fields of ``stats().storage``)."""

    now: float  # Redis's clock
    members: tuple[Member, ...]
    problems: tuple[str, ...]

    @property
    def fleet_settled(self) -> bool:
        return all(m.state is MemberState.OK for m in self.members)

    @property
    def degraded(self) -> bool:
        return not self.fleet_settled

    def as_dict(self) -> dict[str, Any]:
        return {
            "answering": True,
            "degraded": self.degraded,
            "fleet_size": len(self.members),
            "fleet_settled": self.fleet_settled,
            "members": [
                {"member": m.name, "silent_s": round(self.now - m.seen, 3), "state": m.state.value}
                for m in self.members
            ],
            "problem": "; ".join(self.problems),
        }


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def parse(reply: Sequence[Any]) -> tuple[float, tuple[Member, ...]]:
    """Redis's now and the live members from ``lua/fleet.lua``'s reply."""
    now = float(_text(reply[0]))
    members = []
    for i in range(1, len(reply) - 2, 3):
        name, seen, state = _text(reply[i]), float(_text(reply[i + 1])), _text(reply[i + 2])
        if now - seen > FORGET:
            continue  # it has left the fleet: the next heartbeat removes it
        if state != "ok":
            kind = MemberState.ALONE
        elif now - seen > LATE:
            kind = MemberState.SILENT
        else:
            kind = MemberState.OK
        members.append(Member(name, seen, kind))
    return now, tuple(members)


def read(store: Any, uri: str) -> StoreReport | None:
    """The report of a shared store (None for memory://); one line, without the password,
    when it cannot be read."""
    if not isinstance(store, FallbackStore):
        return None
    primary = store.primary
    try:
        reply = primary.roster()
    except Exception as exc:
        raise StorageUnavailable(
            f"rate-limit storage unavailable; cannot read the fleet "
            f"({describe_error(exc, uri_secrets(uri))})",
            retry_after=0.0, endpoint="*", limit="storage",
        ) from None  # fmt: skip
    now, members = parse(reply)
    return StoreReport(now, members, tuple(primary.inspect()))


def _clock(at: float) -> str:
    return f"{datetime.datetime.fromtimestamp(at, tz=datetime.timezone.utc):%H:%M:%S} UTC"


def summary(report: StoreReport) -> str:
    """One line: answering or degraded, and why; stamped with Redis's time."""
    size = len(report.members)
    if not size:
        fleet = f"no process has used it in the last {FORGET:.0f} s"
    else:
        fleet = f"fleet of {size} member{'s' if size > 1 else ''}"
    if not report.degraded:
        settled = f", settled (each heard from within {LATE:g} s)" if size else ""
        return f"storage answering at {_clock(report.now)}; {fleet}{settled}"
    counts = {s: sum(m.state is s for m in report.members) for s in MemberState}
    why = [f"{counts[s]} {s.value}" for s in (MemberState.ALONE, MemberState.SILENT) if counts[s]]
    return (
        f"storage DEGRADED at {_clock(report.now)}: {fleet}, not settled ({', '.join(why)}); "
        f"each process limits at its share (1/{size} of each limit) until every member "
        f"is heard from"
    )


def render(report: StoreReport, out: Output) -> None:
    table = TextTable(
        "tiktok_adapter fleet",
        (Column("member"), Column("last heard", right=True), Column("state")),
    )
    for m in report.members:
        ago = f"{_clock(m.seen)} ({max(report.now - m.seen, 0.0):.1f} s ago)"
        table.add_row(m.name, ago, m.state.value)
    out.table(table)
    out.line(summary(report), style="bold red" if report.degraded else None)
    for problem in report.problems:
        out.line(f"storage problem: {redact(problem)}", style="bold red")
