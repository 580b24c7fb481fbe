"""What a storage backend declares about itself, so the registry can find and open it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..core.clock import Clock
from ..core.windows import Store


@dataclass(frozen=True)
class StoreOptions:
    """Everything a backend may need to open a store."""

    uri: str
    key_prefix: str
    margin: float
    use_storage_time: bool
    clock: Clock
    client_options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Backend:
    """One storage backend: the URI schemes it serves and how to open it.

    ``shared`` backends count for several processes; the registry puts an in-process
    fallback in front of them. ``requires`` names a client module that must be
    installed, and ``install`` the command that installs it. ``check`` validates a URI
    at construction (it raises ConfigurationError); ``open`` builds the store.
    """

    name: str
    schemes: frozenset[str]
    shared: bool
    open: Callable[[StoreOptions], Store]
    check: Callable[[str], None] = lambda uri: None
    requires: Callable[[str], tuple[str, str] | None] = lambda uri: None
