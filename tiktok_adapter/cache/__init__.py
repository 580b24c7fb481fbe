"""Caching of TikTok reads with requests-cache, each access token's data kept apart."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..adapter import TikTokAdapter
from ..core.endpoints import EndpointTable, get_preset
from ..exceptions import MissingDependency
from ..settings import Settings
from .policy import CACHED_METHODS, CachePolicy, Expiry

if TYPE_CHECKING:
    from requests_cache import CachedSession

    from .keys import KeyFunction
    from .session import TikTokCachedSession

__all__ = [
    "TikTokCachedSession",
    "cache_settings",
    "cached_session",
    "make_key_fn",
    "protect",
]

logger = logging.getLogger(__name__)

DEFAULT_EXPIRE_AFTER: float = Settings.cache_expire_after  # the setting's default
_INSTALL_HINT = "pip install 'tiktok-adapter[cache]'"
_FALLBACK_REDACTED = (
    "Authorization",
    "Access-Token",
    "Proxy-Authorization",
    "X-Access-Token",
    "X-API-Key",
    "X-API-Token",
    "X-Auth-Token",
    "access_token",
    "api_key",
    "apikey",
)


def _require_requests_cache() -> None:
    try:
        import requests_cache  # noqa: F401
    except ImportError as exc:
        raise MissingDependency(
            f"tiktok_adapter.cache needs requests-cache, the 'cache' extra: {_INSTALL_HINT}"
        ) from exc


def make_key_fn(secret: str | bytes | None = None) -> KeyFunction:
    """A requests-cache ``key_fn`` whose keys include an HMAC-SHA256 of the access token.

    ``secret`` is the HMAC key. None means a random key made once per process: keys
    then differ between processes, so a cache shared by several processes needs the
    same ``secret`` in all of them (for example from an environment variable).
    """
    _require_requests_cache()
    from .keys import KeyFunction, coerce_secret

    return KeyFunction(coerce_secret(secret))


def cache_settings(
    adapter: TikTokAdapter | None = None,
    *,
    secret: str | bytes | None = None,
    expire_after: Expiry | None = None,
    expire_per_endpoint: Mapping[str, Expiry] | None = None,
) -> dict[str, Any]:
    """Keyword arguments for any ``CachedSession``: per-token keys, successful reads only.

    The endpoint table of ``adapter`` (the seed preset's when None) decides what is a
    read. ``expire_after`` (seconds or a timedelta) defaults to the adapter's
    ``cache_expire_after`` setting (1800 s without an adapter). ``expire_per_endpoint``
    maps endpoint paths ("/video/list/") to seconds or a timedelta. Call
    :func:`protect` on the session built with these, so that tokens are also kept out
    of what the cache stores.
    """
    table = (
        adapter.limiter.table if adapter is not None else EndpointTable.build(get_preset("seed"))
    )
    if expire_after is None:
        expire_after = _setting_expiry(adapter)
    policy = CachePolicy(table)
    return {
        "key_fn": make_key_fn(secret),
        "filter_fn": policy.keep,
        "allowable_methods": CACHED_METHODS,
        "allowable_codes": (200,),
        # A safety net until protect() runs: requests-cache then blanks these names
        # itself. protect() takes over (keyed hashes, any letter case) and clears it.
        "ignored_parameters": _FALLBACK_REDACTED,
        "match_headers": False,
        "expire_after": expire_after,
        "urls_expire_after": policy.expiry_patterns(expire_after, expire_per_endpoint),
    }


def _setting_expiry(adapter: TikTokAdapter | None) -> float:
    # The setting is validated, and loaded from code, environment and files alike.
    return adapter.settings.cache_expire_after if adapter is not None else DEFAULT_EXPIRE_AFTER


def protect(session: CachedSession) -> None:
    """Store keyed hashes in place of tokens in ``session``'s backend (see cache_settings)."""
    _require_requests_cache()
    from .session import protect as _protect

    _protect(session)


def cached_session(
    cache_name: str = "tiktok_cache",
    backend: Any = "sqlite",
    expire_after: Expiry | None = None,
    *,
    expire_per_endpoint: Mapping[str, Expiry] | None = None,
    secret: str | bytes | None = None,
    adapter: TikTokAdapter | None = None,
    base_url: str | None = None,
    cache_options: Mapping[str, Any] | None = None,
    **adapter_kwargs: Any,
) -> TikTokCachedSession:
    """A requests-cache ``CachedSession`` with a TikTokAdapter mounted behind the cache.

    ``backend`` is any requests-cache backend name ("sqlite", "redis", "filesystem",
    "memory") or instance; ``cache_name`` is its file, directory or namespace. Hits
    never reach the adapter, so they cost no quota. ``session.tiktok_adapter`` is the
    adapter: built from ``adapter_kwargs``, or ``adapter`` itself. ``expire_after``
    defaults to that adapter's ``cache_expire_after`` setting. ``cache_options`` go to
    ``CachedSession`` (backend options such as ``connection``). ``secret``: see
    :func:`make_key_fn`.
    """
    _require_requests_cache()
    from .session import TikTokCachedSession

    if adapter is None:
        adapter = TikTokAdapter(**adapter_kwargs)
    elif adapter_kwargs:
        raise TypeError("pass either an adapter or settings for a new one, not both")
    if secret is None and backend not in ("memory",):
        logger.info(
            "cache keys use a per-process random secret: entries are not shared with "
            "other processes; pass secret= to share them"
        )
    settings = cache_settings(
        adapter,
        secret=secret,
        expire_after=expire_after,
        expire_per_endpoint=expire_per_endpoint,
    )
    return TikTokCachedSession(
        cache_name,
        adapter=adapter,
        base_url=base_url,
        backend=backend,
        **settings,
        **dict(cache_options or {}),
    )


def __getattr__(name: str) -> Any:
    # The session class subclasses requests-cache's, so it is only imported when asked for.
    if name == "TikTokCachedSession":
        _require_requests_cache()
        from .session import TikTokCachedSession

        return TikTokCachedSession
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
