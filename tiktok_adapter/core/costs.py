"""What a request costs beyond one request: the records it may return, against a record budget.

TikTok's Research API counts records as well as requests: 100,000 records a UTC day
(followers and following: 2,000,000 each), at most 100 per request. A request reserves
the most it can return (the body's ``max_count``, or TikTok's default) before it is
sent, all or nothing with its request windows; when the response shows how many came
back, the rest is refunded. A response whose body is not read (streamed) keeps the
whole reservation, which can only under-spend.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .jsonbody import parse_object


@dataclass(frozen=True)
class RecordCost:
    """How many records one request of an endpoint may return, and which budget pays.

    ``pool`` names the budget (endpoints with the same pool share it), ``limit`` is its
    limit string ("100000/day@utc"). ``field`` is the body field that asks for a count
    (None: every request may return ``default``), ``default`` what TikTok returns when
    the body names none, ``most`` the largest count a request may ask for. ``returned``
    names the lists in the response's ``data`` whose lengths are the records that came
    back; with none, a request costs ``default`` and nothing is refunded.
    """

    pool: str
    limit: str
    default: int
    field: str | None = "max_count"
    most: int = 100
    returned: tuple[str, ...] = ()

    def reserve(self, body: Any) -> int:
        """The records to reserve for a request with ``body`` (bytes, str or None)."""
        if self.field is None:
            return self.default
        asked = _json(body).get(self.field) if body else None
        if isinstance(asked, bool) or not isinstance(asked, int):
            return self.default
        # TikTok refuses a count outside 1..most as invalid; reserving the most it
        # could return keeps the budget safe either way.
        return min(max(asked, 1), self.most)

    def came_back(self, body: bytes | None) -> int | None:
        """How many records a response carried, or None when it cannot be told."""
        if not self.returned or body is None:
            return None
        envelope = _json(body)
        data = envelope.get("data")
        if not isinstance(data, dict):
            return None
        counts = [len(data[k]) for k in self.returned if isinstance(data.get(k), list)]
        return sum(counts) if counts else None


def _json(body: Any) -> dict[str, Any]:
    # No size limit: a request's body is the caller's, and a response's was read by the
    # caller (requests) or declared at most 64 KiB (httpx).
    return parse_object(body) or {}


RESEARCH_RECORDS = "100000/day@utc"
FOLLOW_RECORDS = "2000000/day@utc"


def research(default: int, *returned: str, field: str | None = "max_count") -> RecordCost:
    """A Research endpoint that spends the shared daily record budget."""
    return RecordCost("research", RESEARCH_RECORDS, default, field, returned=returned)


def follow_list(pool: str, returned: str) -> RecordCost:
    """Followers or following: a record budget of its own, 20 records unless asked."""
    return RecordCost(pool, FOLLOW_RECORDS, 20, returned=(returned,))
