"""Budget reports as values: what each window has left. ``engine.budget`` reads the store."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from .headers import RateInfo


@dataclass(frozen=True)
class WindowBudget:
    """One window: its limit, what remains of it, and when (epoch s) the oldest use expires.

    ``limit`` is the configured limit and ``amount`` its amount; ``learned`` is the
    amount the window admits instead, when refusals taught that the server allows
    less (None otherwise), and ``remaining`` counts against that.
    """

    limit: str
    used: int
    remaining: int
    resets_at: float
    learned: int | None = None
    amount: int = 0


@dataclass(frozen=True)
class EndpointBudget:
    """An endpoint's own windows, any server block, and what the server last reported."""

    endpoint: str
    windows: tuple[WindowBudget, ...]
    blocked_until: float | None
    server: RateInfo | None


@dataclass(frozen=True)
class Budget:
    """A snapshot of :meth:`TikTokAdapter.budget`; on Redis it is the whole fleet's."""

    app: tuple[WindowBudget, ...]
    endpoints: Mapping[str, EndpointBudget]
    taken_at: float

    def as_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {
            "taken_at": self.taken_at,
            "app": [asdict(w) for w in self.app],
            "endpoints": {name: asdict(e) for name, e in self.endpoints.items()},
        }
