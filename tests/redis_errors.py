"""Which redis-py error a store failure was, judged by its type, never by redis-py's wording.

redis-py rewords its errors between releases (an unreachable cluster is a plain
RedisClusterException in 4.x, a RedisClusterUnreachableError in 8). Our stores keep the
client's error out of the chain where its text may hold the password, and then name its
class in their message instead ("... (RedisClusterUnreachableError: ...)").
"""

from __future__ import annotations

import re

import redis.exceptions
import redis.sentinel


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def failed_with(exc: BaseException, *types: type[BaseException]) -> bool:
    """Whether ``exc`` came from an error of one of ``types``: one chained to it, or, when the
    chain is hidden, a redis-py error class of those types that its message names."""
    if any(isinstance(link, types) for link in _chain(exc)[1:]):
        return True
    names = {
        cls.__name__
        for module in (redis.exceptions, redis.sentinel)
        for cls in vars(module).values()
        if isinstance(cls, type) and issubclass(cls, types)
    }
    return any(re.search(rf"\b{name}\b", str(exc)) for name in names)
