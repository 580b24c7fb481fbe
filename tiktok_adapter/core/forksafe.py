"""Locks that a forked child gets fresh, so it never inherits one held by a dead thread."""

from __future__ import annotations

import os
import threading
import weakref
from typing import Any

# (object, attribute, factory) for every lock to replace in a child; weak, so that
# registering costs an object nothing once it is gone.
_REGISTRY: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()


def after_fork_in_child(owner: Any, attribute: str, factory: Any = threading.Lock) -> None:
    """Replace ``owner.<attribute>`` with ``factory()`` in every child forked later.

    A child starts with one thread; a lock that another thread of the parent held at
    the fork stays held forever there, and the first admission would deadlock.
    """
    _REGISTRY.setdefault(owner, {})[attribute] = factory


def _reinit() -> None:
    for owner, attributes in list(_REGISTRY.items()):
        for attribute, factory in attributes.items():
            setattr(owner, attribute, factory())


if hasattr(os, "register_at_fork"):  # not on Windows
    os.register_at_fork(after_in_child=_reinit)
