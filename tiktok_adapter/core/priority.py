"""Request priorities: a context manager, a request header, or the adapter's default."""

from __future__ import annotations

import enum
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from .errors import ConfigurationError

PRIORITY_HEADER = "X-TikTok-Adapter-Priority"


class Priority(enum.IntEnum):
    """How urgent a request is; higher levels may use more of each window and go first."""

    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @classmethod
    def coerce(cls, value: Priority | str | int, setting: str = "priority") -> Priority:
        """A Priority from a member, its name in any case, or its number."""
        if isinstance(value, Priority):
            return value
        try:
            if isinstance(value, str):
                return cls[value.strip().upper()]
            return cls(value)
        except (KeyError, ValueError):
            valid = ", ".join(p.name.lower() for p in cls)
            raise ConfigurationError(
                f"{setting}={value!r} is not a priority; use one of: {valid}"
            ) from None


# A ContextVar, so a priority set in one thread or asyncio task never leaks into another.
_current: ContextVar[Priority | None] = ContextVar("tiktok_adapter_priority", default=None)


@contextmanager
def priority(level: Priority | str) -> Iterator[Priority]:
    """Give every request sent inside the block ``level``.

    >>> with priority(Priority.CRITICAL):
    ...     session.post(delete_url, json=body)  # doctest: +SKIP
    """
    token = _current.set(Priority.coerce(level))
    try:
        yield _current.get() or Priority.MEDIUM
    finally:
        _current.reset(token)


def current_priority() -> Priority | None:
    """The priority set by an enclosing :func:`priority` block, if any."""
    return _current.get()
