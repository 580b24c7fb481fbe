"""Admission against rate windows; the only module that imports `limits`."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import limits
import limits.storage

from .exceptions import ConfigurationError

logger = logging.getLogger(__name__)

# Suffixes of one limit part: "@utc" counts per UTC calendar period instead of in a
# moving window; "@token" and "@account" count per user token or business account.
CALENDAR_SUFFIX = "utc"
SCOPES = ("app", "token", "account")
MEMORY_SCHEMES = frozenset({"memory"})
REDIS_SCHEMES = frozenset(
    {
        "redis",
        "rediss",
        "redis+unix",
        "redis+cluster",
        "rediss+cluster",
        "redis+sentinel",
        "rediss+sentinel",
        "valkey",
        "valkeys",
        "valkey+unix",
        "valkey+cluster",
        "valkeys+cluster",
        "valkey+sentinel",
        "valkeys+sentinel",
    }
)
SUPPORTED_SCHEMES = MEMORY_SCHEMES | REDIS_SCHEMES


@dataclass(frozen=True)
class Rate:
    """One limit: ``amount`` requests per ``period`` seconds.

    A moving rate counts the requests of the last ``period`` seconds; a calendar rate
    counts per UTC-aligned period (a UTC day resets at 00:00 UTC). ``scope`` says who
    shares the count: the whole app, each user token, or each business account.
    """

    amount: int
    period: float
    calendar: bool
    text: str
    scope: str = "app"


@dataclass(frozen=True)
class Window:
    """A rate bound to the storage key that counts it."""

    key: str
    rate: Rate


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


ADMITTED = Admission(True)


# A block whose key starts so marks a spent quota (the server said so, or a window that
# resets hours away is full), so waiting for it is held to the quota cap, not slept off.
QUOTA_BLOCK = "q:"


class StorageError(Exception):
    """The store could not be reached; the adapter decides between fallback and raise."""


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

    def close(self) -> None: ...


def parse_rates(text: str, setting: str) -> tuple[Rate, ...]:
    """Parse "10/minute;100/hour;1000/day@utc;6/minute@token" or raise ConfigurationError."""
    hint = "write it like '10/minute', '5 per second', '1000/day@utc' or '6/minute@token'"
    if not isinstance(text, str) or not text.strip():
        raise ConfigurationError(f"{setting}={text!r} is not a limit string; {hint}")
    rates: list[Rate] = []
    for raw in text.replace("|", ";").replace(",", ";").split(";"):
        part = raw.strip()
        spec, *suffixes = (p.strip().lower() for p in part.split("@"))
        calendar = CALENDAR_SUFFIX in suffixes
        scopes = [x for x in suffixes if x != CALENDAR_SUFFIX]
        if len(scopes) > 1 or (scopes and scopes[0] not in SCOPES):
            raise ConfigurationError(
                f"{setting}={text!r}: {part!r} has an unknown suffix; use @utc and one of "
                + ", ".join(f"@{x}" for x in SCOPES)
            )
        try:
            items = limits.parse_many(spec)
        except ValueError:
            raise ConfigurationError(
                f"{setting}={text!r}: {part!r} is not a limit; {hint}"
            ) from None
        for item in items:
            if item.amount < 1:
                raise ConfigurationError(
                    f"{setting}={text!r}: {part!r} allows no request; the amount must be 1 or more"
                )
            rate = Rate(item.amount, float(item.get_expiry()), calendar, part,
                        scopes[0] if scopes else "app")  # fmt: skip
            rates.append(rate)
    return tuple(rates)


def storage_scheme(uri: str) -> str:
    return uri.split("://", 1)[0].lower() if "://" in uri else ""


def validate_storage_uri(uri: str) -> None:
    if not isinstance(uri, str) or storage_scheme(uri) not in SUPPORTED_SCHEMES:
        valid = ", ".join(f"{s}://" for s in sorted(SUPPORTED_SCHEMES))
        raise ConfigurationError(f"storage_uri={uri!r} is not supported; use one of {valid}")


def cap_for(rate: Rate, share: float) -> int:
    """How many of the window's slots a caller with ``share`` of it may fill."""
    if share >= 1.0:
        return rate.amount
    return max(1, math.floor(rate.amount * share))


def open_store(
    uri: str,
    *,
    key_prefix: str,
    margin: float,
    use_storage_time: bool,
    options: dict[str, float | str | bool] | None = None,
) -> Store:
    """Build the store for ``uri``; `limits` parses the URI and opens the connection."""
    from ._memory_store import MemoryStore

    validate_storage_uri(uri)
    if storage_scheme(uri) in MEMORY_SCHEMES:
        return MemoryStore(margin=margin)
    from ._redis_store import RedisStore

    opts: dict[str, float | str | bool] = {
        "socket_timeout": 1.0,
        "socket_connect_timeout": 1.0,
    }
    opts.update(options or {})
    try:
        backend = limits.storage.storage_from_string(uri, **opts)
    except limits.errors.ConfigurationError as exc:
        raise ConfigurationError(
            f"storage_uri={uri!r} needs the Redis client: "
            f"pip install 'tiktok-adapter[redis]' ({exc})"
        ) from None
    client = backend.get_connection()  # type: ignore[union-attr]
    error_types = backend.base_exceptions
    return RedisStore(
        client,
        key_prefix=key_prefix,
        margin=margin,
        use_storage_time=use_storage_time,
        error_types=error_types,
    )
