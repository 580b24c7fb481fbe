"""Putting the adapter under a session: on the API host in every spelling, and only there."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import BaseAdapter

from ..exceptions import ConfigurationError
from .adapter import TikTokAdapter


class HostRouter(BaseAdapter):
    """Sends requests for ``hosts`` to ``target`` and everything else to ``fallback``.

    requests picks an adapter by URL prefix, so ``https://open.tiktokapis.com:443/``,
    the trailing-dot host ``open.tiktokapis.com.`` and ``https://user@open.tiktokapis.com/``
    would all miss a mount on ``https://open.tiktokapis.com/`` and go out unlimited.
    Mounted on the scheme itself, this router compares the parsed host name, which a
    look-alike such as ``open.tiktokapis.com.evil.example`` never equals.
    """

    __attrs__ = ["target", "fallback", "hosts"]

    def __init__(
        self, target: requests.adapters.BaseAdapter, fallback: BaseAdapter, hosts: frozenset[str]
    ) -> None:
        super().__init__()
        self.target = target
        self.fallback = fallback
        self.hosts = hosts

    def route(self, url: str) -> BaseAdapter:
        host = (urlsplit(url).hostname or "").rstrip(".")
        return self.target if host in self.hosts else self.fallback

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        return self.route(request.url or "").send(request, *args, **kwargs)

    def close(self) -> None:
        self.fallback.close()

    def __getstate__(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__attrs__}

    def __setstate__(self, state: Mapping[str, Any]) -> None:
        for name, value in state.items():
            setattr(self, name, value)


def mount(
    session: requests.Session,
    adapter: TikTokAdapter | None = None,
    *,
    base_url: str | None = None,
    **kwargs: Any,
) -> TikTokAdapter:
    """Mount ``adapter`` (or a new one built from ``kwargs``) on ``base_url``'s host.

    ``base_url`` defaults to the preset's API host (``https://open.tiktokapis.com/``,
    or ``https://business-api.tiktok.com/`` for ``preset="business"``). Every spelling
    of that host (a port, a trailing dot, user info, any case, http or https) reaches
    the adapter; a look-alike host never does.
    """
    if adapter is not None and not isinstance(adapter, TikTokAdapter):
        raise ConfigurationError(
            f"mount(session, adapter={adapter!r}): the second argument must be a TikTokAdapter "
            "or None; pass settings as keywords, such as mount(session, on_limit='raise')"
        )
    if adapter is None:
        adapter = TikTokAdapter(**kwargs)
    elif kwargs:
        raise ConfigurationError("pass either an adapter or settings for a new one, not both")
    if base_url is None:
        base_url = adapter.limiter.preset.base_url
    if not base_url.endswith("/"):
        base_url += "/"
    # The exact prefix is the fast path requests finds first; the routers catch the rest.
    session.mount(base_url, adapter)
    parts = urlsplit(base_url)
    host = (parts.hostname or "").rstrip(".")
    if host and parts.path in ("", "/"):
        for scheme in ("https://", "http://"):
            current = session.adapters.get(scheme)
            if current is None:
                continue
            if isinstance(current, HostRouter) and current.hosts == frozenset({host}):
                current = current.fallback  # mounting again replaces, never stacks
            session.mount(scheme, HostRouter(adapter, current, frozenset({host})))
    return adapter
