"""urllib3: every connection pool's ``urlopen`` (a PoolManager sends through them) limits
the TikTok hosts, unless a transport of the package admitted the request already."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import urllib3
from urllib3 import exceptions as errors

from .. import exceptions
from ..core.decide import Raise, Return
from ..core.refusal import MAX_ERROR_BODY, Answer
from ..engine.effects import run
from ..engine.limiter import replayable, take_priority
from .shared import ADMITTED, RequestView, Target, Undo, lower_headers, sending


class RateLimitExceeded(exceptions.RateLimitExceeded, errors.HTTPError):
    """A request refused by a rate limit (a ``urllib3.exceptions.HTTPError``)."""


class QuotaExhausted(exceptions.QuotaExhausted, RateLimitExceeded):
    """A calendar quota is spent until it resets (a ``urllib3.exceptions.HTTPError``)."""


class StorageUnavailable(exceptions.StorageUnavailable, RateLimitExceeded):
    """The shared limiter storage cannot be reached (a ``urllib3.exceptions.HTTPError``)."""


to_exception = exceptions.Flavour(RateLimitExceeded, QuotaExhausted, StorageUnavailable).of

# What urllib3 raises when a request may or may not have reached the server.
CONNECTION_ERRORS = (errors.MaxRetryError, errors.ProtocolError, errors.TimeoutError,
                     errors.NewConnectionError)  # fmt: skip

Pool = urllib3.HTTPConnectionPool


def patch(target: Target) -> Undo:
    original = Pool.urlopen

    def urlopen(pool: Pool, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        # Inside a send of ours (the requests adapter's, or this one's own retries and
        # redirects within the pool) the request was admitted already.
        if ADMITTED.get():
            return original(pool, method, url, *args, **kwargs)
        absolute = not url.startswith("/")  # through a proxy, the pool is the proxy's
        if not target.covers(urlsplit(url).hostname if absolute else pool.host):
            return original(pool, method, url, *args, **kwargs)
        full = url if absolute else f"{pool.scheme}://{pool.host}:{pool.port}{url}"
        return _limited(target, original, pool, method, url, full, args, kwargs)

    urlopen.__wrapped__ = original  # type: ignore[attr-defined]
    Pool.urlopen = urlopen  # type: ignore[method-assign, assignment]

    def undo() -> None:
        Pool.urlopen = original  # type: ignore[method-assign]

    return undo


def _limited(target: Target, original: Any, pool: Pool, method: str, url: str, full: str,
             args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:  # fmt: skip
    """The requests adapter's recipe around one ``urlopen``: admit, send, observe, and
    send again when the rules say so."""
    limiter = target.limiter
    body = args[0] if args else kwargs.get("body")
    headers = args[1] if len(args) > 1 else kwargs.get("headers")
    view = RequestView(full, headers, body, method)
    route, attempt = limiter.begin(full, None if headers is None else take_priority(headers))
    # Only a body urllib3 has read already can be judged without taking it from the caller.
    preloaded = kwargs.get("preload_content", True)
    with sending(to_exception):
        while True:
            limiter.admit(view, route, attempt)
            try:
                response = original(pool, method, url, *args, **kwargs)
            except CONNECTION_ERRORS as exc:
                # urllib3 has run its own retries: account for the call, then raise.
                _, attempt, effects = limiter.after_error(route, attempt, False,
                                                          type(exc).__name__)  # fmt: skip
                run(effects)
                raise
            data = response.data if preloaded else None
            seen = data if data is not None and len(data) <= MAX_ERROR_BODY else None
            answer = Answer(response.status, lower_headers(response.headers), seen)
            outcome = limiter.observe(route, answer, attempt)
            if outcome.effects:
                run(outcome.effects)
            if outcome.refusal is None:
                return response
            decision, attempt = limiter.after_refusal(route, attempt, outcome.refusal,
                                                      replayable(body))  # fmt: skip
            if isinstance(decision, Raise):
                assert decision.problem is not None
                response.release_conn()
                raise to_exception(decision.problem, view, response)
            if isinstance(decision, Return):
                return response
            response.drain_conn()  # and send again: the admission waits out the block
            response.release_conn()
