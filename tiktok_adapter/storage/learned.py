"""Where learned limits are kept: a dict in process, or one Redis hash the whole fleet reads.

The Redis side has two small scripts of its own, beside (not inside) the admission
script: admission takes each window's amount as an argument, so it never needs to know
that an amount was learned.
"""

from __future__ import annotations

import threading
from typing import Any

from ..core.learning import Learned, LearningPolicy
from ..core.windows import StorageError, Store
from ._redis_scripts import Keys, run


class LocalLearned:
    """One process's learned values (the memory:// store is one process's too)."""

    remote = False  # no round trip: read in the caller's thread

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, Learned] = {}

    def load(self) -> dict[str, Learned]:
        with self._lock:
            return dict(self._values)

    def lower(self, scope: str, state: Learned) -> Learned:
        with self._lock:
            held = self._values.get(scope)
            if held is not None and held.factor <= state.factor:
                return held
            self._values[scope] = state
            return state

    def swap(self, scope: str, expected: float, state: Learned) -> bool:
        with self._lock:
            held = self._values.get(scope)
            if abs((held.factor if held else 1.0) - expected) > 1e-9:
                return False
            self._values[scope] = state
            return True


class RedisLearned:
    """Learned values in the hash ``{prefix}:learned``, one field per scope.

    It uses the Redis store's connection (opened by the store, reopened after a
    failure); every error is a StorageError, which the learner survives on its copy.
    """

    remote = True  # a round trip may time out: read in the background after the first

    def __init__(
        self, redis_store: Any, key_prefix: str, policy: LearningPolicy, fallback: Any = None
    ) -> None:
        self.redis_store = redis_store
        self.fallback = fallback
        self.key = Keys.of(key_prefix).learned
        self.ttl_ms = str(int(policy.forget_after * 1000))

    def _client(self) -> Any:
        # While the fallback counts alone (the store is down), asking Redis would cost a
        # request a timeout; the learner keeps its copy until the store is back.
        if self.fallback is not None and getattr(self.fallback, "degraded", False):
            raise StorageError("learned limits: the shared store is down")
        return self.redis_store.connection()

    def _script(self, name: str, args: list[str]) -> Any:
        # lua/lower.lua: a lower factor wins. lua/swap.lua: compare and set, for raises (a
        # process raises only the value it read, so two never raise one level twice).
        client = self._client()
        try:
            return run(client, name, [self.key], args)
        except Exception as exc:
            raise StorageError(f"learned limits: {type(exc).__name__}") from None

    def load(self) -> dict[str, Learned]:
        try:
            raw = self._client().hgetall(self.key)
        except StorageError:
            raise
        except Exception as exc:
            raise StorageError(f"learned limits: {type(exc).__name__}") from None
        out: dict[str, Learned] = {}
        for field, value in raw.items():
            scope = field.decode() if isinstance(field, bytes) else str(field)
            text = value.decode() if isinstance(value, bytes) else str(value)
            state = Learned.decode(text)
            if state is not None:
                out[scope] = state
        return out

    def lower(self, scope: str, state: Learned) -> Learned:
        held = self._script("lower", [scope, state.encode(), repr(state.factor), self.ttl_ms])
        text = held.decode() if isinstance(held, bytes) else str(held)
        return Learned.decode(text) or state

    def swap(self, scope: str, expected: float, state: Learned) -> bool:
        done = self._script("swap", [scope, state.encode(), repr(expected), self.ttl_ms])
        return bool(int(done))


def open_learned(
    store: Store, key_prefix: str, policy: LearningPolicy
) -> LocalLearned | RedisLearned:
    """The shared place for ``store``: its Redis when it has one, else this process."""
    primary = getattr(store, "primary", store)
    if hasattr(primary, "connection") and hasattr(primary, "tag"):
        return RedisLearned(primary, key_prefix, policy, store if primary is not store else None)
    return LocalLearned()
