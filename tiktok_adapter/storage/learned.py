"""Where learned limits are kept: a dict in process, or one Redis hash the whole fleet reads.

Each store declares its place (``Store.learned_place``): the memory store a
:class:`LocalLearned`, the Redis store a :class:`RedisLearned`, and the fallback its
primary's place behind :class:`WhileUp`.

The Redis side has two small scripts of its own, beside (not inside) the admission
script: admission takes each window's amount as an argument, so it never needs to know
that an amount was learned.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from ..core.learning import Learned, LearnedPlace, LearningPolicy
from ..core.windows import StorageError
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

    def __init__(self, connection: Callable[[], Any], key_prefix: str,
                 policy: LearningPolicy) -> None:  # fmt: skip
        # The store's connection() (opened by the store, reopened after a failure).
        self.connection = connection
        self.key = Keys.of(key_prefix).learned
        self.ttl_ms = str(int(policy.forget_after * 1000))

    def _client(self) -> Any:
        return self.connection()

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


class WhileUp:
    """A shared place asked only while ``down()`` is false: while the fallback counts
    alone (the store is down), asking it would cost a request a timeout, so each call
    fails at once and the learner keeps its copy until the store is back."""

    def __init__(self, place: LearnedPlace, down: Callable[[], bool]) -> None:
        self.place = place
        self.down = down
        self.remote = place.remote

    def _check(self) -> None:
        if self.down():
            raise StorageError("learned limits: the shared store is down")

    def load(self) -> dict[str, Learned]:
        self._check()
        return self.place.load()

    def lower(self, scope: str, state: Learned) -> Learned:
        self._check()
        return self.place.lower(scope, state)

    def swap(self, scope: str, expected: float, state: Learned) -> bool:
        self._check()
        return self.place.swap(scope, expected, state)
