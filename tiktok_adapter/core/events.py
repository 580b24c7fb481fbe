"""Hook events and their dispatch: a hook that raises is logged, never fatal."""

from __future__ import annotations

import enum
import logging
import pickle
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal, get_args

from .errors import ConfigurationError
from .priority import Priority

logger = logging.getLogger(__name__)

HookName = Literal["on_wait", "on_rate_limited", "on_retry"]
HOOK_NAMES: tuple[HookName, ...] = get_args(HookName)


class EventKind(str, enum.Enum):
    """What happened; each kind is delivered to the hooks of one name."""

    WAIT = "wait"
    RATE_LIMITED = "rate_limited"
    RETRY = "retry"

    @property
    def hook(self) -> HookName:
        return _HOOK_OF[self]


_HOOK_OF: dict[EventKind, HookName] = {
    EventKind.WAIT: "on_wait",
    EventKind.RATE_LIMITED: "on_rate_limited",
    EventKind.RETRY: "on_retry",
}


@dataclass(frozen=True)
class Event:
    """What happened to one request: a wait, a server refusal, or a retry.

    ``seconds`` is the wait (or the backoff before the retry); ``limit`` the window or
    refusal code that caused it.
    """

    kind: EventKind
    endpoint: str
    priority: Priority
    seconds: float
    limit: str


Hook = Callable[[Event], object]


class Hooks:
    """Callbacks by event name; registering is thread-safe enough for setup time."""

    def __init__(self) -> None:
        self._hooks: dict[str, tuple[Hook, ...]] = dict.fromkeys(HOOK_NAMES, ())

    def add(self, name: str, hook: Hook) -> None:
        if name not in self._hooks:
            raise ConfigurationError(f"unknown hook {name!r}; valid hooks: {', '.join(HOOK_NAMES)}")
        self._hooks[name] = (*self._hooks[name], hook)

    def picklable(self) -> dict[str, tuple[Hook, ...]]:
        """The hooks that survive pickling (module-level functions and the like).

        A closure or a bound method of an unpicklable object cannot travel to another
        process; in this process an unpickled adapter shares the original's hooks.
        """
        kept: dict[str, tuple[Hook, ...]] = {}
        for name, hooks in self._hooks.items():
            good = []
            for hook in hooks:
                try:
                    pickle.dumps(hook)
                except Exception:
                    logger.debug("%s hook %r cannot be pickled; it stays behind", name, hook)
                else:
                    good.append(hook)
            kept[name] = tuple(good)
        return kept

    @classmethod
    def restore(cls, saved: Mapping[str, tuple[Hook, ...]]) -> Hooks:
        hooks = cls()
        for name, callbacks in saved.items():
            for hook in callbacks:
                hooks.add(name, hook)
        return hooks

    def emit(self, event: Event) -> None:
        name = event.kind.hook
        for hook in self._hooks[name]:
            try:
                hook(event)
            except Exception:
                logger.exception("%s hook %r raised; the request goes on", name, hook)
