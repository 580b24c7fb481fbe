"""What a Redis error means for the fleet: an outage to wait out, or a setting to fix.

An outage (refused, reset, timed out, failing over) ends by itself. A misconfiguration
does not: a read-only replica, an ACL user without ``@scripting``, a wrong password, or
an eviction policy that may remove window keys. Those are told apart here, by the
error's type name (redis-py and valkey share them), never by its message text, so that
the fallback can log them at ERROR with the fix instead of retrying them as an outage.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..core.windows import StorageError, StorageMisconfigured
from .uri import describe_error


@dataclass(frozen=True)
class Problem:
    """A permanent failure, found by an error type's name, and how to fix it."""

    error: str
    fix: str


# By the first matching class in the error's MRO (redis-py and valkey name them alike).
_MASTER = "point storage_uri at the master (or use redis+sentinel:// to find it)"
_GRANT = "grant the Redis user +@scripting +@read +@write +@connection"
PROBLEMS = (
    Problem("ReadOnlyError", f"storage_uri names a read-only replica; {_MASTER}"),
    Problem("NoPermissionError", f"the Redis user may not run the adapter's commands; {_GRANT}"),
    Problem("AuthenticationError", "the Redis password or user in storage_uri is wrong"),
    Problem("AuthenticationWrongNumberOfArgsError", "Redis 5 takes no user in storage_uri"),
    Problem("AuthorizationError", "the Redis user in storage_uri may not connect"),
)
_BY_NAME = {p.error: p for p in PROBLEMS}

# Eviction policies that never remove a key with a TTL (every window key has one).
_SAFE_POLICIES = frozenset({"noeviction", "allkeys-lfu-noexpire", ""})


def problem_of(exc: BaseException, secrets: Sequence[str] = ()) -> StorageError:
    """The StorageError for ``exc``: StorageMisconfigured, with the fix, when it is one of
    :data:`PROBLEMS`; never with a password in the text."""
    detail = describe_error(exc, secrets)
    for cls in type(exc).__mro__:
        problem = _BY_NAME.get(cls.__name__)
        if problem is not None:
            return StorageMisconfigured(f"{detail}; fix: {problem.fix}")
    return StorageError(detail)


def eviction_problems(memory: Mapping[str, Any]) -> list[str]:
    """From ``INFO memory``: an eviction policy under which a full Redis may remove window
    keys (they expire, so ``volatile-ttl`` removes them first), with the fix."""
    policy = str(memory.get("maxmemory_policy", ""))
    try:
        limited = int(memory.get("maxmemory", 0) or 0) > 0
    except (TypeError, ValueError):
        limited = True
    if not limited or policy in _SAFE_POLICIES:
        return []
    return [
        f"Redis may evict the rate-limit windows (maxmemory-policy {policy} with a "
        f"maxmemory set): a full Redis would forget requests already sent; use a Redis "
        f"of its own with maxmemory-policy noeviction for storage_uri"
    ]
