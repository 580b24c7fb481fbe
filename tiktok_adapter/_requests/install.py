"""One adapter under every requests call of a process, for code that has no Session to mount on."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from types import TracebackType
from typing import Any

import requests

from ..exceptions import ConfigurationError, TikTokAdapterError
from .adapter import TikTokAdapter
from .mounting import HostRouter, mount

_lock = threading.Lock()
_active: Installation | None = None


class Installation:
    """What :func:`install` did; a context manager that undoes it on exit.

    ``adapter`` is the one adapter every Session created meanwhile is mounted with,
    so its windows, stats and budget cover the whole process.
    """

    def __init__(self, adapter: TikTokAdapter, base_url: str | None) -> None:
        self.adapter = adapter
        self.base_url = base_url
        self.sessions: weakref.WeakSet[requests.Session] = weakref.WeakSet()
        self._original: Callable[..., None] | None = None
        # Held while a new Session is mounted and while uninstall() restores and unmounts:
        # a Session whose __init__ overlaps uninstall() is either mounted and then
        # unmounted with the rest, or sees the installation gone and stays plain.
        # Reentrant, in case something mount() does makes a Session of its own.
        self._mounting = threading.RLock()
        self._live = False

    def __enter__(self) -> TikTokAdapter:
        return self.adapter

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        uninstall()

    def _patch(self) -> None:
        original = requests.Session.__init__
        installation = self

        def __init__(session: requests.Session, *args: Any, **kwargs: Any) -> None:
            original(session, *args, **kwargs)
            with installation._mounting:
                if installation._live:
                    mount(session, installation.adapter, base_url=installation.base_url)
                    installation.sessions.add(session)

        __init__.__wrapped__ = original  # type: ignore[attr-defined]
        with self._mounting:
            self._original = original
            self._live = True
            requests.Session.__init__ = __init__  # type: ignore[method-assign, assignment]

    def _unpatch(self) -> None:
        with self._mounting:
            self._live = False
            if self._original is not None:
                requests.Session.__init__ = self._original  # type: ignore[method-assign]
                self._original = None
            for session in list(self.sessions):
                _unmount(session, self.adapter)
            self.sessions.clear()


def install(
    adapter: TikTokAdapter | None = None, *, base_url: str | None = None, **settings: Any
) -> Installation:
    """Mount one shared adapter on every ``requests.Session`` created from now on.

    That covers module-level ``requests.get``/``requests.post`` (each makes a Session)
    and Sessions that a library builds inside itself. Only the API host is covered (the
    preset's, or ``base_url``'s), in every spelling, exactly as :func:`mount` does.
    Sessions created before the call are not touched: mount those yourself.

    Use it as a context manager, ``with install(on_limit="raise") as adapter:``, or
    call :func:`uninstall` later. Installing twice without uninstalling is an error.
    """
    global _active
    with _lock:
        if _active is not None:
            raise TikTokAdapterError(
                "tiktok_adapter is already installed; call tiktok_adapter.uninstall() first"
            )
        if adapter is None:
            adapter = TikTokAdapter(**settings)
        elif settings:
            raise ConfigurationError("pass either an adapter or settings for a new one, not both")
        installation = Installation(adapter, base_url)
        installation._patch()
        _active = installation
        return installation


def uninstall() -> None:
    """Undo :func:`install`: new Sessions are plain again, and the Sessions created while
    installed lose the adapter. Calling it when nothing is installed does nothing."""
    global _active
    with _lock:
        if _active is not None:
            _active._unpatch()
            _active = None


def installed() -> TikTokAdapter | None:
    """The adapter :func:`install` put under every Session, or None."""
    active = _active
    return active.adapter if active is not None else None


def _unmount(session: requests.Session, adapter: TikTokAdapter) -> None:
    for prefix, mounted in list(session.adapters.items()):
        if mounted is adapter:
            del session.adapters[prefix]
        elif isinstance(mounted, HostRouter) and mounted.target is adapter:
            session.adapters[prefix] = mounted.fallback
