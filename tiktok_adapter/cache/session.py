"""The CachedSession subclass: token redaction in storage, hit counting and comment invalidation."""

from __future__ import annotations

import logging
from typing import Any

import requests
from requests.structures import CaseInsensitiveDict
from requests_cache import CachedSession
from requests_cache.backends.base import BaseCache, DictStorage
from requests_cache.models import AnyResponse
from requests_cache.models.raw_response import CachedHTTPResponse
from requests_cache.models.response import CachedResponse, OriginalResponse
from requests_cache.policy import DEFAULT_CACHE_NAME, ExpirationTime
from requests_cache.policy.actions import CacheActions
from requests_cache.serializers import SerializerPipeline, Stage

from .._requests.mounting import mount
from ..adapter import TikTokAdapter
from ..exceptions import ConfigurationError
from .keys import KeyFunction, Redactor
from .policy import CachePolicy, succeeded, video_id

logger = logging.getLogger(__name__)


class _RedactingDictStorage(DictStorage):
    """The memory backend never serializes, so it redacts as it stores and copies as it reads.

    The plain memory backend hands out the stored object itself, and requests then
    writes into it: after a redirect to a cached read, ``Session.send`` sets that
    object's ``history`` to the live redirect responses, raw ``Authorization`` and all.
    Handing out a copy keeps the stored entry as it was redacted.
    """

    def __init__(self, redactor: Redactor, items: Any) -> None:
        self._redactor = redactor
        super().__init__(items)  # type: ignore[no-untyped-call]

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, self._redactor.redact_response(value))

    def __getitem__(self, key: str) -> Any:
        return _detached(super().__getitem__(key))  # type: ignore[no-untyped-call]


def _detached(value: Any) -> Any:
    """A shallow copy of a stored response whose attributes can be replaced freely."""
    if not isinstance(value, CachedResponse):
        return value
    clone: CachedResponse = value.__class__.__new__(value.__class__)
    clone.__dict__.update(value.__dict__)
    clone.headers = CaseInsensitiveDict(value.headers)
    clone.history = list(value.history)
    clone.raw = CachedHTTPResponse.from_cached_response(clone)
    return clone


def _unchanged(value: Any) -> Any:
    return value


def protect(session: CachedSession) -> None:
    """Make ``session``'s backend store markers (keyed hashes) in place of every credential.

    ``session`` must use our key function (``cache_settings`` puts it there), whose
    secret the markers share so that keys recomputed from stored requests still match.
    Safe to call more than once.
    """
    key_fn = session.settings.key_fn
    if not isinstance(key_fn, KeyFunction):
        raise ConfigurationError(
            "protect(session) needs a CachedSession built with **cache_settings(...) "
            "(its key_fn keeps tokens apart); this session has another key_fn"
        )
    cache: BaseCache = session.cache
    storage = cache.responses
    redactor = key_fn.redactor
    serializer = getattr(storage, "serializer", None)
    if isinstance(storage, _RedactingDictStorage) or _redacts(serializer):
        pass
    elif isinstance(serializer, SerializerPipeline):
        # Ahead of every other stage, so whatever format follows never sees a token.
        storage.serializer = SerializerPipeline(
            [Stage(redactor, dumps=redactor.redact_response, loads=_unchanged), serializer],
            name=serializer.name,
            is_binary=serializer.is_binary,
        )
    elif type(storage) is DictStorage:
        cache.responses = _RedactingDictStorage(redactor, dict(storage.data))
    else:
        raise ConfigurationError(
            f"cannot redact tokens from {type(storage).__name__}: it has no serializer "
            "pipeline; use a backend with its default serializer"
        )
    # Our stage now redacts; requests-cache's own pass would run first and erase the
    # keyed hashes that let keys be recomputed from stored requests.
    session.settings.ignored_parameters = ()


def _redacts(serializer: Any) -> bool:
    stages = getattr(serializer, "stages", None) or [None]
    return isinstance(getattr(stages[0], "obj", None), Redactor)


class TikTokCachedSession(CachedSession):
    """A CachedSession with a TikTokAdapter mounted behind it (``tiktok_adapter``).

    Build it with :func:`tiktok_adapter.cache.cached_session`, or pass
    ``**cache_settings(adapter, ...)`` and ``adapter=`` yourself.

    Reads of read-only endpoints are cached per token; everything else goes straight
    to the adapter without touching the cache. Hits and misses are counted in the
    adapter's stats, and a successful comment write drops the cached comment reads
    of its video.
    """

    def __init__(
        self,
        cache_name: str,
        *,
        adapter: TikTokAdapter,
        base_url: str | None = None,
        **cache_kwargs: Any,
    ) -> None:
        if isinstance(cache_kwargs.get("backend"), BaseCache):
            # The instance has its own name; requests-cache warns when given another.
            cache_name = DEFAULT_CACHE_NAME
        super().__init__(cache_name, **cache_kwargs)
        self.tiktok_policy = CachePolicy(adapter.limiter.table)
        self.tiktok_adapter: TikTokAdapter = mount(self, adapter, base_url=base_url)
        protect(self)

    def send(
        self,
        request: requests.PreparedRequest,
        expire_after: ExpirationTime = None,
        only_if_cached: bool = False,
        refresh: bool = False,
        force_refresh: bool = False,
        **kwargs: Any,
    ) -> AnyResponse:
        if not self.tiktok_policy.is_cacheable(request.method, request.url, request.body):
            # Writes and unknown endpoints never touch the cache, not even for a lookup.
            return self._send_uncached(request, **kwargs)
        ours = self.get_adapter(request.url or "") is self.tiktok_adapter
        try:
            response = super().send(
                request, expire_after, only_if_cached, refresh, force_refresh, **kwargs
            )
        except requests.RequestException:
            if ours:
                self.tiktok_adapter.record_cache(request, False)
            raise
        if ours and not (isinstance(response, CachedResponse) and response.status_code == 504):
            # A 504 from the cache is requests-cache's only_if_cached answer: neither.
            self.tiktok_adapter.record_cache(request, bool(getattr(response, "from_cache", 0)))
        return response

    def _send_uncached(self, request: requests.PreparedRequest, **kwargs: Any) -> AnyResponse:
        response = requests.Session.send(self, request, **kwargs)
        if self.tiktok_policy.is_comment_write(request.url) and succeeded(response):
            self.invalidate_comments(video_id(request.url, request.body))
        return OriginalResponse.wrap_response(response, CacheActions(skip_write=True))

    def invalidate_comments(self, video: str | int | None = None) -> int:
        """Drop cached comment reads of ``video`` (of every video when None); returns how many.

        Entries of every token are dropped: a comment change is visible to all users.
        This reads each cached entry once, so its cost grows with the size of the cache.
        """
        wanted = None if video is None else str(video)
        policy = self.tiktok_policy
        stale: list[str] = []
        for cached in self.cache.filter(valid=True, expired=True):
            stored = cached.request
            if not policy.is_comment_read(stored.url):
                continue
            if wanted is None or video_id(stored.url, stored.body) == wanted:
                stale.append(cached.cache_key)
        if stale:
            self.cache.delete(*stale)
            logger.debug("dropped %d cached comment reads (video %s)", len(stale), wanted)
        return len(stale)
