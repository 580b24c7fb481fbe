"""One decision per step of a call: send, wait, raise or return. Plain values in, a decision out.

Every rule about waiting and giving up lives here: raise mode, the ``max_wait``
deadline (queue, windows and server pauses together), quota waits, backoff with its
attempt number, and whether a request may go again. The transports (requests' adapter,
httpx's transports) only do what a decision says: send, sleep, raise, return. Nothing
here imports an HTTP library or sleeps, in the manner of urllib3's ``Retry.increment``
and h11's sans-I/O design.
"""

from __future__ import annotations

import datetime
import enum
from dataclasses import dataclass
from typing import NamedTuple

from .priority import Priority
from .rates import cap_for
from .refusal import Refusal, RefusalKind
from .retry import RetryPolicy
from .windows import Admission


class Cause(enum.Enum):
    """Why a call waits, or why it is refused."""

    WINDOW = "window"  # one of our windows is full
    QUOTA = "quota"  # a calendar quota is spent until it resets
    SERVER = "server"  # the server refused or paused the endpoint
    BACKOFF = "backoff"  # a connection error is backed off before re-sending
    QUEUE = "queue"  # max_wait ran out while queued behind other calls
    STORAGE = "storage"  # the shared store cannot be reached


@dataclass(frozen=True)
class Problem:
    """What went wrong, in plain values; each transport raises its own exception from it."""

    cause: Cause
    message: str
    endpoint: str
    limit: str
    retry_after: float
    reset_at: float

    @property
    def quota(self) -> bool:
        return self.cause is Cause.QUOTA


@dataclass(frozen=True)
class Send:
    """Send (or send again) now."""


@dataclass(frozen=True)
class Wait:
    """Sleep ``seconds``, then ask again."""

    seconds: float
    cause: Cause


@dataclass(frozen=True)
class Raise:
    """Give up: raise ``problem``'s exception, or re-raise the transport's own error (None)."""

    problem: Problem | None


@dataclass(frozen=True)
class Return:
    """Hand the response to the caller as it is."""


Decision = Send | Wait | Raise | Return

_LIMIT = {Cause.QUEUE: "queue", Cause.STORAGE: "storage", Cause.SERVER: "server"}


class Attempt(NamedTuple):
    """Where one call stands: re-sends so far and when it must stop waiting (immutable).

    A NamedTuple, not a frozen dataclass: one is made per call, and a frozen dataclass
    costs several times as much to build.
    """

    endpoint: str
    level: Priority
    resends: int = 0
    deadline: float | None = None

    def again(self) -> Attempt:
        return self._replace(resends=self.resends + 1)


@dataclass(frozen=True)
class Rules:
    """The adapter's settings that decide a call's course; one instance per adapter."""

    raise_on_limit: bool
    max_wait: float | None
    retry: RetryPolicy

    def start(self, endpoint: str, level: Priority, now: float) -> Attempt:
        deadline = None if self.max_wait is None else now + self.max_wait
        return Attempt(endpoint, level, 0, deadline)

    # -- before sending -------------------------------------------------------------------

    def admission(self, attempt: Attempt, verdict: Admission, share: float, now: float) -> Decision:
        """Our windows (or a known server block) said ``verdict``: send, wait, or give up."""
        if verdict.admitted:
            return Send()
        if self.raise_on_limit or self._past_deadline(attempt, now + verdict.wait):
            return Raise(refused_here(attempt, verdict, share, now))
        return Wait(verdict.wait, _cause_of(verdict))

    def queue_timeout(self, attempt: Attempt, queued: float, eta: float, ahead: int,
                      now: float) -> Raise:  # fmt: skip
        """``max_wait`` ran out while the call was queued behind ``ahead`` others."""
        retry_after = max(eta - now, 0.0)
        message = (
            f"{attempt.endpoint}: max_wait ran out after {queued:.2f} s in the queue behind "
            f"{ahead} other request(s); retry in {retry_after:.2f} s"
        )
        return Raise(Problem(Cause.QUEUE, message, attempt.endpoint, "queue", retry_after,
                             now + retry_after))  # fmt: skip

    def storage_down(self, attempt: Attempt, detail: str, now: float) -> Raise:
        message = (
            f"rate-limit storage unavailable for {attempt.endpoint} and "
            f"on_storage_error='raise'; nothing was sent ({detail})"
        )
        return Raise(Problem(Cause.STORAGE, message, attempt.endpoint, "storage", 0.0, now))

    # -- after the server answered ----------------------------------------------------------

    def refusal(
        self, attempt: Attempt, refusal: Refusal, replayable: bool, now: float
    ) -> tuple[Decision, Attempt]:
        """The server refused; ``refusal.retry_at`` is when the endpoint reopens. Hand back
        an answer that shows the request was processed, else raise, hand back the final
        refusal, or send again."""
        if refusal.processed:
            # The answer holds the result (a created comment's id): the server did the
            # work, so sending again would do it twice, and raising would hide the result.
            return Return(), attempt
        reopens = refusal.retry_at if refusal.retry_at is not None else now
        if self.raise_on_limit or self._past_deadline(attempt, reopens):
            return Raise(refused_by_server(attempt, refusal, now)), attempt
        if not (replayable and self.retry.may_retry(attempt.resends)):
            # After the last retry the caller gets the final refusal itself, as plain
            # requests would give it: a response, never None.
            return Return(), attempt
        return Send(), attempt.again()

    def pause(self, attempt: Attempt, refusal: Refusal, rand: float, now: float) -> float:
        """Until when a refused endpoint rests: the server's moment, the next UTC midnight
        for a spent quota, else a backoff whose ceiling doubles with each refusal."""
        return self.retry.pause_until(now, refusal.retry_at, refusal.kind is RefusalKind.QUOTA,
                                      rand, attempt.resends + 1)  # fmt: skip

    def connection_error(
        self, attempt: Attempt, safe: bool, rand: float, now: float
    ) -> tuple[Decision, Attempt]:
        """The request may or may not have reached the server: back off and re-send only
        where a duplicate cannot hurt, and never past the deadline."""
        if not (safe and self.retry.may_retry(attempt.resends)):
            return Raise(None), attempt
        following = attempt.again()
        pause = self.retry.backoff_time(following.resends, rand)
        if self._past_deadline(attempt, now + pause):
            return Raise(None), attempt
        return Wait(pause, Cause.BACKOFF), following

    def _past_deadline(self, attempt: Attempt, moment: float) -> bool:
        return attempt.deadline is not None and moment > attempt.deadline


def refused_here(attempt: Attempt, verdict: Admission, share: float, now: float) -> Problem:
    """A request our own limiter (or a server block it knows of) refused; nothing was sent."""
    reset_at = now + verdict.wait
    if verdict.calendar:
        which = "the server's quota" if verdict.limit == "server" else f"the quota {verdict.limit}"
        message = f"{attempt.endpoint}: {which} is spent; it comes back at {iso(reset_at)}"
        cause = Cause.QUOTA
    else:
        why = why_waiting(verdict, attempt.level, share)
        message = f"{attempt.endpoint}: {why}; retry in {verdict.wait:.2f} s"
        cause = Cause.SERVER if verdict.limit == "server" else Cause.WINDOW
    return Problem(cause, message, attempt.endpoint, verdict.limit, verdict.wait, reset_at)


def refused_by_server(attempt: Attempt, refusal: Refusal, now: float) -> Problem:
    """The server refused the request; ``refusal.retry_at`` is when the endpoint reopens."""
    wait = max((refusal.retry_at or now) - now, 0.0)
    if refusal.kind is RefusalKind.QUOTA:
        message = (
            f"{attempt.endpoint}: the daily quota is spent ({refusal.code}); it comes back at "
            f"{iso(now + wait)}"
        )
        cause = Cause.QUOTA
    else:
        message = (
            f"{attempt.endpoint}: refused by the server ({refusal.code}); retry in {wait:.2f} s"
        )
        cause = Cause.SERVER
    return Problem(cause, message, attempt.endpoint, "server", wait, now + wait)


def why_waiting(verdict: Admission, level: Priority | None, share: float) -> str:
    """What holds a request back: the limit itself, a priority's share of it, or the server."""
    if verdict.limit == "server":
        return "paused by the server"
    rate = verdict.rate
    if rate is not None and level is not None and cap_for(rate, share) < rate.amount:
        # Never "limit reached" when the limit was not: this level may not fill it.
        return f"{level.name} may use {cap_for(rate, share)} of {rate.text}"
    return f"limit {verdict.limit} reached"


def _cause_of(verdict: Admission) -> Cause:
    if verdict.calendar:
        return Cause.QUOTA
    return Cause.SERVER if verdict.limit == "server" else Cause.WINDOW


def utc(timestamp: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(timestamp, tz=datetime.timezone.utc)


def iso(timestamp: float) -> str:
    return utc(timestamp).isoformat(timespec="seconds")
