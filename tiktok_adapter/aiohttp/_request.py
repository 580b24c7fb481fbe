"""An ``aiohttp.ClientRequest`` as the core reads it, and which aiohttp errors may be re-sent."""

from __future__ import annotations

import asyncio
import ssl
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp.payload import BytesPayload

from ..core.retry import resend_is_safe
from ..core.routes import Route

# Errors where the request may or may not have reached the server.
CONNECTION_ERRORS = (
    aiohttp.ClientConnectionError,
    aiohttp.ClientPayloadError,
    asyncio.TimeoutError,
)


class _Unread:
    """The body of a request that cannot be read without being spent: never replayable."""


UNREAD = _Unread()


class RequestView:
    """A ``ClientRequest`` as the core's ``RequestLike``: url text, headers, body bytes."""

    __slots__ = ("body", "headers", "method", "original", "url")

    def __init__(self, request: aiohttp.ClientRequest) -> None:
        self.url = str(request.url)
        self.headers = request.headers
        self.method = request.method
        self.original = request
        self.body = body_of(request)


def body_of(request: aiohttp.ClientRequest) -> Any:
    """None without a body; bytes for one held in memory (bytes, text, JSON, a form),
    which aiohttp can send again; UNREAD for a stream, a file or a multipart body."""
    payload = request.body
    if not payload:  # b"" stands for no body
        return None
    if isinstance(payload, BytesPayload):
        return payload.decode("latin-1").encode("latin-1")  # its bytes, unchanged
    return UNREAD


def may_resend(view: RequestView, route: Route, exc: BaseException) -> bool:
    """Safe methods and read-only endpoints only; never after a TLS failure."""
    cause: BaseException | None = exc
    for _ in range(8):
        if cause is None:
            break
        if isinstance(cause, (ssl.SSLError, aiohttp.ClientSSLError)):
            return False
        cause = cause.__cause__ or cause.__context__
    return resend_is_safe(view.method, route.read_only, view.body)


def host_of(url: str) -> str:
    """A URL's host as the middleware compares it: lower case, without a trailing dot, so
    that every spelling of the API host is limited and a look-alike host never is."""
    return (urlsplit(url).hostname or "").rstrip(".")
