"""Admission against rate windows; the only module that imports `limits`."""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import limits
import limits.storage

from ._checks import MAX_AMOUNT, MAX_PERIOD
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
    # The binding window's rate (None for a server block), so that an error can say
    # when a priority's share, not the limit itself, is what refused.
    rate: Rate | None = None


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
    """Parse "10/minute;100/hour;1000/day@utc;6/minute@token" or raise ConfigurationError.

    Each part allows 1 to MAX_AMOUNT requests in a window of 1 second to MAX_PERIOD.
    """
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
        # `limits` reads "5/0second" as 5 per second; a zero period is a typo, not a window.
        if re.search(r"(?:/|per)\s*0+\s*[a-z]", spec):
            raise ConfigurationError(
                f"{setting}={text!r}: {part!r} has a period of zero; the window must be "
                "1 second or more, such as '5/second' or '5/10second'"
            )
        for item in items:
            # Bounded so that every later sum of timestamps, sleep and Redis expiry in
            # milliseconds stays finite and in range.
            if not 1 <= item.amount <= MAX_AMOUNT:
                raise ConfigurationError(
                    f"{setting}={text!r}: {part!r} allows "
                    f"{'no' if item.amount < 1 else 'too many'} requests; "
                    f"the amount must be from 1 to {MAX_AMOUNT:,}"
                )
            if item.get_expiry() > MAX_PERIOD:
                raise ConfigurationError(
                    f"{setting}={text!r}: {part!r} has too long a window; the period must be "
                    f"from 1 second to {MAX_PERIOD:,} seconds (ten years)"
                )
            rate = Rate(item.amount, float(item.get_expiry()), calendar, part,
                        scopes[0] if scopes else "app")  # fmt: skip
            rates.append(rate)
    return tuple(rates)


def storage_scheme(uri: str) -> str:
    return uri.split("://", 1)[0].lower() if "://" in uri else ""


def validate_storage_uri(uri: str) -> None:
    from ._store_uri import redact_uri, sentinel_service

    if not isinstance(uri, str) or storage_scheme(uri) not in SUPPORTED_SCHEMES:
        valid = ", ".join(f"{s}://" for s in sorted(SUPPORTED_SCHEMES))
        shown = redact_uri(uri) if isinstance(uri, str) else uri
        raise ConfigurationError(f"storage_uri={shown!r} is not supported; use one of {valid}")
    scheme = storage_scheme(uri)
    if scheme.endswith("+sentinel") and not sentinel_service(uri):
        raise ConfigurationError(
            f"storage_uri={redact_uri(uri)!r} names no Sentinel service; write it as "
            f"{scheme}://[:password@]host:26379[,host:port]/<service name>"
        )


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
    options: dict[str, Any] | None = None,
) -> Store:
    """Build the store for ``uri``; `limits` parses the URI and opens the connection.

    A setting that cannot work raises ConfigurationError here. A store that cannot be
    reached does not: the store connects on first use and again after each failure, so
    that an outage at start-up (a Redis Cluster connects at once) is handled like any
    other, by the fallback or by StorageUnavailable.
    """
    from ._memory_store import MemoryStore

    validate_storage_uri(uri)
    scheme = storage_scheme(uri)
    if scheme in MEMORY_SCHEMES:
        return MemoryStore(margin=margin)
    from ._redis_store import RedisStore
    from ._store_uri import describe_error, redact_uri, uri_secrets

    timeouts = {"socket_timeout": 1.0, "socket_connect_timeout": 1.0}
    opts: dict[str, Any] = dict(timeouts)
    if scheme.endswith("+sentinel"):
        # The Sentinels are asked first. Without these a refused Sentinel costs seconds of
        # the client's own retries per request (4 s measured); one try each is enough.
        opts["sentinel_kwargs"] = {**timeouts, "retry": None}
    opts.update(options or {})
    shown, secrets = redact_uri(uri), uri_secrets(uri)

    def connect() -> Any:
        try:
            backend = limits.storage.storage_from_string(uri, **opts)
        except (limits.errors.ConfigurationError, ValueError, TypeError) as exc:
            hint = " (pip install 'tiktok-adapter[redis]')" if "prerequisite" in str(exc) else ""
            raise ConfigurationError(
                f"storage_uri={shown!r} cannot be used: {describe_error(exc, secrets)}{hint}"
            ) from None
        except Exception as exc:  # unreachable: RedisCluster connects in its constructor
            raise StorageError(describe_error(exc, secrets)) from None
        return backend.get_connection()  # type: ignore[union-attr]

    return RedisStore(
        connect,
        key_prefix=key_prefix,
        margin=margin,
        use_storage_time=use_storage_time,
        secrets=secrets,
    )
