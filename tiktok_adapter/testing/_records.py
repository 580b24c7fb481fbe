"""The simulator's record budgets: the Research API counts the records it returns, per UTC day.

TikTok allows 100,000 Research records a day (followers and following 2,000,000 each),
at most 100 per request, reset at 00:00 UTC. A request is refused with
``daily_quota_limit_exceeded`` once its budget is spent; a page that asks for more than
is left is cut to what is left, so the budget is never overdrawn.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ..core.costs import RecordCost
from ..core.endpoints import Endpoint
from ._windows import SlidingLog, parse_limits


class RecordBudgets:
    """One set of logs per pool; the app's lock guards every call."""

    def __init__(self) -> None:
        self._logs: dict[str, list[SlidingLog]] = {}

    def logs_for(self, endpoint: Endpoint | None) -> tuple[RecordCost | None, list[SlidingLog]]:
        """The endpoint's record cost and the logs of its pool (none without a cost)."""
        cost = endpoint.cost if endpoint is not None else None
        if cost is None:
            return None, []
        logs = self._logs.get(cost.pool)
        if logs is None:
            logs = self._logs[cost.pool] = [
                SlidingLog(replace(r, text=f"{r.text} records")) for r in parse_limits(cost.limit)
            ]
        return cost, logs

    @staticmethod
    def within(cost: RecordCost, payload: Any, logs: list[SlidingLog], now: float) -> Any:
        """The body with its count cut to the records left."""
        if cost.field is None or not isinstance(payload, dict):
            return payload
        left = min(log.check(now).remaining for log in logs)
        asked = payload.get(cost.field, cost.default)
        if isinstance(asked, int) and not isinstance(asked, bool) and asked > left:
            return {**payload, cost.field: left}
        return payload

    def count(self, pool: str, now: float) -> int:
        logs = self._logs.get(pool, [])
        return max((log.rate.amount - log.check(now).remaining for log in logs), default=0)

    def clear(self) -> None:
        self._logs.clear()


def records_in(data: Any) -> int:
    """Records in an answer: the items of its top-level lists, or one for a single record."""
    if not isinstance(data, dict):
        return 0
    lists = [
        v for v in data.values() if isinstance(v, list) and all(isinstance(x, dict) for x in v)
    ]
    return sum(len(v) for v in lists) if lists else 1
