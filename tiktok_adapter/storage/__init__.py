"""Where windows are counted: backends found by URI scheme, each declared by its own module.

Adding a backend means adding one module here that defines ``BACKEND``
(a :class:`~tiktok_adapter.storage.base.Backend`): the registry finds it, settings
validate its URIs through it, and shared backends get the in-process fallback. The
pattern is the `limits` library's storage registry keyed by scheme.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Literal, cast

from ..core.clock import Clock
from ..core.windows import Store
from ..exceptions import ConfigurationError
from .base import AsyncStore, Backend, InProcess, SharedStore, StoreOptions
from .fallback import FallbackStore
from .uri import redact_uri, storage_scheme

OnError = Literal["fallback", "raise"]
# Modules of this package that are parts of backends, not backends.
_NOT_BACKENDS = frozenset({"base", "fallback", "uri"})


def _discover() -> Mapping[str, Backend]:
    found: dict[str, Backend] = {}
    for module in pkgutil.iter_modules(__path__):
        if module.name in _NOT_BACKENDS or module.name.startswith("_"):
            continue
        backend = getattr(importlib.import_module(f"{__name__}.{module.name}"), "BACKEND", None)
        if isinstance(backend, Backend):
            found.update(dict.fromkeys(backend.schemes, backend))
    return MappingProxyType(found)


BACKENDS: Mapping[str, Backend] = _discover()


def backend_for(uri: str) -> Backend:
    """The backend serving ``uri``'s scheme, or ConfigurationError naming the valid ones."""
    backend = BACKENDS.get(storage_scheme(uri)) if isinstance(uri, str) else None
    if backend is None:
        valid = ", ".join(f"{s}://" for s in sorted(BACKENDS))
        shown = redact_uri(uri) if isinstance(uri, str) else uri
        raise ConfigurationError(f"storage_uri={shown!r} is not supported; use one of {valid}")
    return backend


def validate_storage_uri(uri: str) -> None:
    """Raise ConfigurationError at construction for a URI no backend can use, or whose
    client is not installed; never with a password in the message."""
    backend = backend_for(uri)
    backend.check(uri)
    needed = backend.requires(uri)
    if needed is not None and importlib.util.find_spec(needed[0]) is None:
        module, hint = needed
        raise ConfigurationError(
            f"storage_uri={redact_uri(uri)!r} needs the {module} client, "
            f"which is not installed: {hint}"
        )


def is_shared(uri: str) -> bool:
    return backend_for(uri).shared


def open_async_store(store: Store, uri: str, *, key_prefix: str, margin: float,
                     use_storage_time: bool, clock: Clock) -> AsyncStore:  # fmt: skip
    """The async face of ``store`` (which :func:`open_store` built for ``uri``), for an
    async transport: its backend's own, or the store used from the loop as it is."""
    backend = backend_for(uri)
    if backend.open_async is None:
        return InProcess(store)
    return backend.open_async(store, StoreOptions(uri, key_prefix, margin, use_storage_time, clock))


def open_store(
    uri: str,
    *,
    key_prefix: str,
    margin: float,
    use_storage_time: bool,
    clock: Clock,
    on_error: OnError = "fallback",
    options: dict[str, Any] | None = None,
) -> Store:
    """The store for ``uri``; a shared one behind the in-process fallback (or raising
    StorageError when ``on_error`` is "raise")."""
    validate_storage_uri(uri)
    backend = backend_for(uri)
    store = backend.open(StoreOptions(uri, key_prefix, margin, use_storage_time, clock,
                                      dict(options or {})))  # fmt: skip
    if not backend.shared:
        return store
    # A shared backend's store is a SharedStore (Backend says so of ``shared``).
    return FallbackStore(
        cast(SharedStore, store), clock, margin=margin, raise_errors=on_error == "raise",
        shown=redact_uri(uri),
    )  # fmt: skip


__all__ = [
    "BACKENDS",
    "Backend",
    "StoreOptions",
    "backend_for",
    "is_shared",
    "open_async_store",
    "open_store",
    "storage_scheme",
    "validate_storage_uri",
]
