"""Windows, admissions and the Store protocol: what admission asks of any storage backend."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from .errors import TikTokAdapterError
from .rates import Rate

if TYPE_CHECKING:
    from .learning import LearnedPlace, LearningPolicy
    from .stats import StorageHealth

# A block whose key starts so marks a spent quota (the server said so, or a window that
# resets hours away is full), so waiting for it follows the quota rules, not a backoff.
QUOTA_BLOCK = "q:"


@dataclass(frozen=True)
class Window:
    """A rate bound to the storage key that counts it.

    ``cost`` is what one admission charges: 1 for a request; the records a request
    reserves in a record window (see :mod:`.costs`).
    """

    key: str
    rate: Rate
    cost: int = 1


@dataclass(frozen=True)
class Admission:
    """The answer to "may this request go now?".

    When not admitted, ``wait`` is the time until every window could admit it, and
    ``limit`` names the window that binds longest ("server" for a server block).
    """

    admitted: bool
    wait: float = 0.0
    limit: str = ""
    calendar: bool = False
    # The binding window's rate (None for a server block), so that an error can say
    # when a priority's share, not the limit itself, is what refused.
    rate: Rate | None = None
    # A shared store's count of each window after admitting, this request included.
    held: tuple[int, ...] = ()
    # Where a late answer finds this request's entries (engine/late.py). ``stamp``: the
    # shared store's own stamp of them, on its clock (Redis's), which a delayed command
    # makes later than the caller's reading before asking. ``at``: the caller's clock
    # reading they were counted at, when not that one (a fallback that admitted alone
    # after the shared store took a timeout to fail).
    stamp: float | None = None
    at: float | None = None


ADMITTED = Admission(True)


class StorageError(TikTokAdapterError):
    """The store could not be reached; the adapter decides between fallback and raise."""


class StorageMisconfigured(StorageError):
    """The store answered, but it cannot keep the windows as configured (a read-only
    replica, a user without permission, a wrong password): waiting will not fix it."""


@dataclass(frozen=True)
class Usage:
    """How much of one window is used at ``now``, and when the oldest use expires."""

    used: int
    resets_at: float


class Store(Protocol):
    """Where windows are counted; the rest of the package sees only this."""

    def acquire(
        self,
        windows: Sequence[Window],
        blocks: Sequence[str],
        now: float | None,
        share: float = 1.0,
    ) -> Admission:
        """Charge every window at once, or none of them; ``now=None`` asks the store's clock."""

    def block(self, key: str, until: float, now: float) -> None:
        """Refuse every acquire that names ``key`` until ``until``."""

    def usage(self, window: Window, now: float) -> Usage: ...

    def blocked_until(self, key: str, now: float) -> float: ...

    def redate(
        self, windows: Sequence[Window], now: float, elapsed: float, shift: float,
        stamp: float | None = None,
    ) -> None:  # fmt: skip
        """Count the request admitted ``elapsed`` before ``now`` (at ``stamp`` on a store
        that stamps its own entries) as admitted ``shift`` later, in each moving window."""

    def refund(self, window: Window, amount: int, wall: float) -> None:
        """Give back ``amount`` of what a request reserved in calendar window ``window``
        at calendar time ``wall``: nothing once that period has ended."""

    def calendar_time(self, now: float) -> float:
        """The calendar time this store's ``@utc`` windows count on, at ``now``."""

    def health(self) -> StorageHealth | None:
        """A shared store's health, for ``stats()``; None for one in process."""

    def learned_place(self, key_prefix: str, policy: LearningPolicy) -> LearnedPlace:
        """Where learned limits are kept beside these windows: this process, or the
        shared store, which the whole fleet reads."""

    def close(self) -> None: ...
