"""urllib.request: every OpenerDirector's ``open`` (``urlopen`` uses one) limits the
TikTok hosts through the shared limiter."""

from __future__ import annotations

import io
import urllib.error
import urllib.request
import urllib.response
from email.message import Message
from typing import Any

from .. import exceptions
from ..core.decide import Raise, Return
from ..core.refusal import MAX_ERROR_BODY, Answer
from ..engine.effects import run
from ..engine.limiter import replayable
from ..priority import PRIORITY_HEADER
from .shared import RequestView, Target, Undo, lower_headers, sending


class RateLimitExceeded(exceptions.RateLimitExceeded, urllib.error.URLError):
    """A request refused by a rate limit (a ``urllib.error.URLError``)."""


class QuotaExhausted(exceptions.QuotaExhausted, RateLimitExceeded):
    """A calendar quota is spent until it resets (a ``urllib.error.URLError``)."""


class StorageUnavailable(exceptions.StorageUnavailable, RateLimitExceeded):
    """The shared limiter storage cannot be reached (a ``urllib.error.URLError``)."""


to_exception = exceptions.Flavour(RateLimitExceeded, QuotaExhausted, StorageUnavailable).of

Opener = urllib.request.OpenerDirector


class Replayed(urllib.response.addinfourl):
    """A response whose body was read to judge it, handed on with the same body."""

    def __init__(self, body: bytes, headers: Message, url: str, code: int, reason: str) -> None:
        super().__init__(io.BytesIO(body), headers, url, code)
        self.reason = reason

    def getheader(self, name: str, default: Any = None) -> Any:
        return self.headers.get(name, default)

    def getheaders(self) -> list[tuple[str, str]]:
        return list(self.headers.items())


def patch(target: Target) -> Undo:
    original = Opener.open

    def open(opener: Opener, fullurl: Any, data: Any = None, *args: Any, **kwargs: Any) -> Any:
        url = fullurl if isinstance(fullurl, str) else fullurl.full_url
        if not target.covers_url(url):  # any other host: exactly as before
            return original(opener, fullurl, data, *args, **kwargs)
        request = urllib.request.Request(fullurl, data) if isinstance(fullurl, str) else fullurl
        if data is not None:
            request.data = data
        return _limited(target, original, opener, request, args, kwargs)

    open.__wrapped__ = original  # type: ignore[attr-defined]
    Opener.open = open  # type: ignore[method-assign, assignment]

    def undo() -> None:
        Opener.open = original  # type: ignore[method-assign]

    return undo


def _limited(target: Target, original: Any, opener: Opener, request: urllib.request.Request,
             args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:  # fmt: skip
    limiter = target.limiter
    url = request.full_url
    view = RequestView(url, dict(request.header_items()), request.data, request.get_method(),
                       request)  # fmt: skip
    route, attempt = limiter.begin(url, _pop_priority(request))
    with sending(to_exception):
        while True:
            limiter.admit(view, route, attempt)
            try:
                response = original(opener, request, None, *args, **kwargs)
                failed = None
            except urllib.error.HTTPError as exc:  # a 4xx or 5xx answer, 429 included
                response, failed = exc, exc
            status = response.status if failed is None else failed.code
            headers = response.headers
            body = None
            if status == 429 or _small_json(status, headers):
                body = response.read(MAX_ERROR_BODY + 1)
                response = _again(response, failed, body, url, status)
            seen = body if body is not None and len(body) <= MAX_ERROR_BODY else None
            outcome = limiter.observe(route, Answer(status, lower_headers(headers), seen),
                                      attempt)  # fmt: skip
            if outcome.effects:
                run(outcome.effects)
            if outcome.refusal is not None:
                decision, attempt = limiter.after_refusal(route, attempt, outcome.refusal,
                                                          replayable(request.data))  # fmt: skip
                if isinstance(decision, Raise):
                    assert decision.problem is not None
                    raise to_exception(decision.problem, view, response)
                if not isinstance(decision, Return):
                    response.close()  # and send again: the admission waits out the block
                    continue
            if isinstance(response, urllib.error.HTTPError):
                raise response
            return response


def _small_json(status: int, headers: Message) -> bool:
    """A 200 whose JSON body declares a length within the cap: read to judge it (TikTok's
    Business API refuses with a 200 and code 40100)."""
    length = headers.get("content-length", "")
    return (status == 200 and "json" in headers.get("content-type", "")
            and length.isdigit() and int(length) <= MAX_ERROR_BODY)  # fmt: skip


def _again(response: Any, failed: urllib.error.HTTPError | None, body: bytes, url: str,
           status: int) -> Any:  # fmt: skip
    """The answer with its body put back, as the caller would have received it."""
    if failed is not None:
        return urllib.error.HTTPError(url, status, failed.msg, failed.headers, io.BytesIO(body))
    return Replayed(body, response.headers, url, status, response.reason)


def _pop_priority(request: urllib.request.Request) -> str | None:
    """The priority header's value, removed before sending (urllib capitalizes names)."""
    for name, value in request.header_items():
        if name.lower() == PRIORITY_HEADER.lower():
            request.remove_header(name)
            return str(value)
    return None
