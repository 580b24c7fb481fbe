"""What the sync and async transports share: the request as the core reads it, the
answer as plain values, and which httpx errors may be re-sent. No rule lives here."""

from __future__ import annotations

import enum
import ssl
from collections.abc import Iterable, Mapping
from typing import Any

import httpx

from ..core.refusal import MAX_ERROR_BODY, Answer
from ..core.retry import resend_is_safe
from ..core.routes import Route

# Set on a request (``extensions={STREAM: True}``) to keep the transport from reading
# even a small JSON 200: it cannot tell on its own whether the caller streams.
STREAM = "tiktok_adapter.stream"
# Errors where the request may or may not have reached the server.
CONNECTION_ERRORS = (httpx.NetworkError, httpx.TimeoutException, httpx.RemoteProtocolError)


class _Unread:
    """The body of a request whose stream has not been read: never replayable."""


UNREAD = _Unread()


class RequestView:
    """An ``httpx.Request`` as the core's ``RequestLike``: url text, headers, body bytes.

    A slotted class rather than a frozen dataclass: one is built per request, and a
    frozen dataclass's ``__init__`` costs several times more.
    """

    __slots__ = ("body", "headers", "method", "original", "url")

    def __init__(self, url: str, headers: Mapping[str, Any], body: Any, method: str,
                 original: httpx.Request) -> None:  # fmt: skip
        self.url, self.headers, self.body = url, headers, body
        self.method, self.original = method, original

    @classmethod
    def of(cls, request: httpx.Request) -> RequestView:
        try:
            body: Any = request.content or None
        except httpx.RequestNotRead:  # a generator or file body: it cannot go twice
            body = UNREAD
        return cls(str(request.url), request.headers, body, request.method, request)


class LowerHeaders(dict[str, str]):
    """Response headers as the core reads them: any case, one dict lookup each.

    httpx's ``Headers`` scans every header on each lookup; the core looks up about ten
    names per answer, so one pass to build this costs less.
    """

    __slots__ = ()

    @classmethod
    def of(cls, headers: httpx.Headers) -> LowerHeaders:
        # A repeated name keeps its last value (httpx joins them; a rate header is single).
        # Latin-1 decodes any bytes; the names the core reads are ASCII.
        return cls({k.decode("latin-1").lower(): v.decode("latin-1") for k, v in headers.raw})

    def get(self, key: str, default: Any = None) -> Any:
        return dict.get(self, key.lower(), default)

    def __getitem__(self, key: str) -> str:
        return dict.__getitem__(self, key.lower())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and dict.__contains__(self, key.lower())

    def lower_names(self) -> Iterable[str]:
        """Every name, in lower case (see ``parse_rate_headers``)."""
        return self.keys()


def may_resend(view: RequestView, route: Route, exc: Exception) -> bool:
    """Safe methods and read-only endpoints only; never after a TLS failure."""
    cause: BaseException | None = exc
    for _ in range(8):  # httpx wraps httpcore's error, which wraps the socket's
        if cause is None:
            break
        if isinstance(cause, ssl.SSLError):
            return False
        cause = cause.__cause__ or cause.__context__
    return resend_is_safe(view.method, route.read_only, view.body)


def wants_body(request: httpx.Request, status: int, headers: LowerHeaders) -> bool:
    """Whether a 200's body is read before the caller sees it: only a JSON body that
    declares a length within the cap (compressed: its decoding is capped on its own),
    and never when the request asks to stream."""
    if status != 200 or request.extensions.get(STREAM):
        return False
    if "json" not in headers.get("content-type", ""):
        return False
    length = headers.get("content-length", "")
    return length.isdigit() and int(length) <= MAX_ERROR_BODY


def read_already(response: httpx.Response, headers: LowerHeaders) -> Answer | None:
    """The answer of a response whose body an inner transport has read (MockTransport
    reads every body), else None: there is nothing raw left to read."""
    if not response.is_stream_consumed:  # asked first: raising costs more than asking
        return None
    try:
        content = response.content
    except httpx.ResponseNotRead:
        return None
    body = content if len(content) <= MAX_ERROR_BODY else None
    return Answer(response.status_code, headers, body)


class Read(enum.Enum):
    """How much of an answer's body the transport reads before the core judges it."""

    NONE = "none"  # judged on status and headers, or on the body read already
    CAPPED = "capped"  # a 429 of any length: at most the cap, then cut
    WHOLE = "whole"  # a small JSON 200, until the deadline; else handed on to read on


def reading(
    request: httpx.Request, response: httpx.Response
) -> tuple[LowerHeaders, Answer | None, Read]:
    """The answer's headers, the Answer when no more need be read, and what to read."""
    status, headers = response.status_code, LowerHeaders.of(response.headers)
    judged = status == 429 or wants_body(request, status, headers)
    # An inner transport may have read the body already (MockTransport reads all).
    seen = read_already(response, headers) if judged else None
    if seen is not None or not judged:
        return headers, seen or Answer(status, headers, None), Read.NONE
    return headers, None, Read.CAPPED if status == 429 else Read.WHOLE
