"""Putting the adapter under a session: on the API host in every spelling, and only there."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import BaseAdapter

from ..core.endpoints import get_preset
from ..exceptions import ConfigurationError
from ..settings import (
    FIELD_NAMES,
    RemountWarning,
    Settings,
    check_base_url,
    check_keywords,
    redact,
)
from ..storage import is_shared
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

    Without ``base_url``, every host of the preset is covered: its API host
    (``https://open.tiktokapis.com/``, or ``https://business-api.tiktok.com/`` for
    ``preset="business"``), its sandbox host (the Business API's
    ``sandbox-ads.tiktok.com``, counted in windows of its own) and its upload host
    (Content Posting's ``open-upload.tiktokapis.com``, covered but unlimited). An
    explicit ``base_url`` covers that host alone. Every spelling of a covered host (a
    port, a trailing dot, user info, any case, http or https) reaches the adapter; a
    look-alike host never does.

    Mounting again on a session that has an adapter for that host keeps its windows:
    with the same settings (and clock) the adapter already mounted is returned and stays;
    anything else replaces it with a :class:`RemountWarning`, unless both count in the
    same shared store.
    """
    if adapter is not None and not isinstance(adapter, TikTokAdapter):
        raise ConfigurationError(
            f"mount(session, adapter={adapter!r}): the second argument must be a TikTokAdapter "
            "or None; pass settings as keywords, such as mount(session, on_limit='raise')"
        )
    check_keywords("mount", kwargs, mount, TikTokAdapter.__init__)
    if adapter is not None and kwargs:
        raise ConfigurationError("pass either an adapter or settings for a new one, not both")
    if base_url is not None:
        check_base_url("mount", base_url)
    wanted = adapter.settings if adapter is not None else _wanted(kwargs)
    if base_url is None:
        # Every host of the preset: production first, then sandbox and upload hosts.
        roots = [h.url for h in get_preset(wanted.preset, wanted.tier).hosts]
    else:
        roots = [base_url if base_url.endswith("/") else base_url + "/"]
    parts = urlsplit(roots[0])
    host = (parts.hostname or "").rstrip(".")
    mounted = _mounted(session, roots[0], host)
    if adapter is None and mounted is not None and _same(mounted, wanted, kwargs):
        adapter = mounted  # its windows hold what this session already sent
    elif adapter is None:
        adapter = TikTokAdapter(**kwargs)
    if mounted is not None and mounted is not adapter and not _shared(mounted, adapter):
        warnings.warn(RemountWarning(_replaced(host, mounted, adapter)), stacklevel=2)
    # The exact prefixes are the fast path requests finds first; the routers catch the rest.
    for root in roots:
        session.mount(root, adapter)
    hosts = frozenset(
        (split.hostname or "").rstrip(".")
        for split in map(urlsplit, roots)
        if split.hostname and split.path in ("", "/")
    )
    if hosts:
        for scheme in ("https://", "http://"):
            current = session.adapters.get(scheme)
            if current is None:
                continue
            while isinstance(current, HostRouter) and current.hosts <= hosts:
                current = current.fallback  # mounting again replaces, never stacks
            session.mount(scheme, HostRouter(adapter, current, hosts))
    return adapter


def _wanted(kwargs: Mapping[str, Any]) -> Settings:
    """The settings that ``TikTokAdapter(**kwargs)`` would have, without building it."""
    options = {name: value for name, value in kwargs.items() if name in FIELD_NAMES}
    return Settings.given("mount", kwargs.get("settings"), options)


def _mounted(session: requests.Session, base_url: str, host: str) -> TikTokAdapter | None:
    """The TikTokAdapter that serves ``base_url`` on ``session`` already, if any."""
    exact = session.adapters.get(base_url)
    if isinstance(exact, TikTokAdapter):
        return exact
    for scheme in ("https://", "http://"):
        router = session.adapters.get(scheme)
        if (
            isinstance(router, HostRouter)
            and host in router.hosts
            and isinstance(router.target, TikTokAdapter)
        ):
            return router.target
    return None


def _same(mounted: TikTokAdapter, wanted: Settings, kwargs: Mapping[str, Any]) -> bool:
    """Whether the adapter ``kwargs`` ask for is the one mounted: its settings, and no
    keyword beyond them but the clock it runs on (a hook or a pool size makes another)."""
    if mounted.settings != wanted:
        return False
    extra = {name: value for name, value in kwargs.items() if name not in FIELD_NAMES}
    return all(
        name == "settings" or (name == "clock" and value is mounted.clock)
        for name, value in extra.items()
    )


def _shared(old: TikTokAdapter, new: TikTokAdapter) -> bool:
    """Whether both adapters count in one shared store's windows (the same Redis keys)."""
    a, b = old.settings, new.settings
    return is_shared(a.storage_uri) and (a.storage_uri, a.key_prefix) == (
        b.storage_uri,
        b.key_prefix,
    )


def _replaced(host: str, old: TikTokAdapter, new: TikTokAdapter) -> str:
    def shown(value: object) -> str:
        text = repr(dict(value) if isinstance(value, Mapping) else redact(value))
        return text if len(text) <= 40 else text[:37] + "..."

    changed = [
        f"{name}={shown(getattr(old.settings, name))} -> {shown(getattr(new.settings, name))}"
        for name in sorted(FIELD_NAMES)
        if getattr(old.settings, name) != getattr(new.settings, name)
    ]
    what = "with other settings: " + ", ".join(changed) if changed else "another adapter"
    return (
        f"mount(): the session already had a TikTokAdapter for {host!r} and this one "
        f"({what}) replaces it, counting from empty windows: in the current windows the "
        "server may see up to twice a limit. Mount once per session and keep the adapter "
        "mount() returns (mounting again with the same settings gives it back), pass it "
        "to other sessions with mount(session, adapter), or give both a shared "
        "storage_uri (redis://...) so that they count in the same windows"
    )
