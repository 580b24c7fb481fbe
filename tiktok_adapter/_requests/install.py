"""One adapter under every requests call of a process, for code that has no Session to mount on."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from types import TracebackType
from typing import Any

import requests

from .._install import patch_all
from ..exceptions import ConfigurationError, TikTokAdapterError
from ..settings import check_base_url, check_keywords
from .adapter import TikTokAdapter
from .mounting import HostRouter, mount

_lock = threading.Lock()
_active: Installation | None = None


class Installation:
    """What :func:`install` did; a context manager that undoes it on exit.

    ``adapter`` is the one adapter every Session created meanwhile is mounted with,
    so its windows, stats and budget cover the whole process.
    """

    def __init__(self, adapter: TikTokAdapter, base_url: str | None, made: bool = False) -> None:
        self.adapter = adapter
        self.base_url = base_url
        # Whether install() made the adapter (then uninstall() closes it) or was given it.
        self.made = made
        self.sessions: weakref.WeakSet[requests.Session] = weakref.WeakSet()
        self._undo: list[Callable[[], None]] = []
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

    def attach(self, session: requests.Session) -> None:
        """Mount the adapter on a Session created while installed (none once uninstalled)."""
        with self._mounting:
            if self._live:
                mount(session, self.adapter, base_url=self.base_url)
                self.sessions.add(session)

    def detach_all(self) -> None:
        """Take the adapter off every Session :meth:`attach` mounted it on."""
        with self._mounting:
            for session in list(self.sessions):
                _unmount(session, self.adapter)
            self.sessions.clear()

    def _patch(self) -> None:
        # Every HTTP stack of the process, requests first (tiktok_adapter._install).
        with self._mounting:
            self._live = True
            self.adapter._held_by_install = True  # a Session's close() leaves it open
            self._undo = patch_all(self)

    def _unpatch(self) -> None:
        with self._mounting:
            self._live = False
            while self._undo:
                self._undo.pop()()
            self.adapter._held_by_install = False
        if self.made:  # its life ends here: connections go, and it leaves a Redis fleet
            self.adapter.close()


def install(
    adapter: TikTokAdapter | None = None, *, base_url: str | None = None, **settings: Any
) -> Installation:
    """Put one shared adapter under every HTTP stack of the process, from now on.

    requests: every ``requests.Session`` created from now on is mounted with it, which
    covers module-level ``requests.get``/``requests.post`` and Sessions a library builds
    inside itself. httpx: every ``Client`` and ``AsyncClient`` created from now on sends
    the API host's requests through its limiter, over the client's own transport.
    aiohttp (3.12+): every ``ClientSession`` created from now on gets its middleware.
    urllib3 (TikTok's Business SDK sends there) and ``urllib.request.urlopen``: every
    request, whenever its pool or opener was made. One limiter serves them all: the
    same windows, stats and budget, whichever library sends. Only TikTok's hosts are
    covered, in every spelling: every host of the preset (its API host, its sandbox host,
    counted in windows of its own, and its upload host, covered but unlimited), or
    ``base_url``'s host alone when given; a library that is not installed is skipped.
    requests Sessions created before the call are not mounted, but their requests are
    limited at the urllib3 layer underneath.

    Use it as a context manager, ``with install(on_limit="raise") as adapter:``, or
    call :func:`uninstall` later. Installing twice without uninstalling is an error.
    """
    global _active
    check_keywords("install", settings, install, TikTokAdapter.__init__)
    if base_url is not None:  # now, rather than in each Session() that mounts it
        check_base_url("install", base_url)
    with _lock:
        if _active is not None:
            raise TikTokAdapterError(
                "tiktok_adapter is already installed; call tiktok_adapter.uninstall() first"
            )
        made = adapter is None
        if adapter is None:
            adapter = TikTokAdapter(**settings)
        elif settings:
            raise ConfigurationError("pass either an adapter or settings for a new one, not both")
        installation = Installation(adapter, base_url, made)
        installation._patch()
        _active = installation
        return installation


def uninstall() -> None:
    """Undo :func:`install`: new Sessions are plain again, and the Sessions created while
    installed lose the adapter. An adapter that ``install()`` made is closed (its pooled
    connections go, and on Redis the fleet hears at once that this process left); one
    passed to ``install(adapter)`` stays open, yours to close. Calling it when nothing is
    installed does nothing."""
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
