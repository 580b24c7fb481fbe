"""TikTokAdapter: a requests transport adapter that keeps every call inside TikTok's limits."""

from __future__ import annotations

from collections.abc import Mapping

import requests
from requests.models import REDIRECT_STATI

from ..core.decide import Attempt, Raise, Return
from ..core.headers import LowerHeaders
from ..core.refusal import Answer, Refusal
from ..core.retry import resend_is_safe
from ..core.routes import Route
from ..engine.effects import run
from ..engine.limiter import replayable
from ..priority import PRIORITY_HEADER
from .base import AdapterBase
from .body import read_prefix, release
from .problems import to_exception

OPEN_API_BASE = "https://open.tiktokapis.com/"


class TikTokAdapter(AdapterBase):
    """An HTTPAdapter that admits each attempt through the rate windows before sending.

    ``send`` is a recipe of overridable steps: begin (the endpoint's route and the call's
    attempt, ``Limiter.begin``), :meth:`admit` (sleep, queue by priority, or raise), send,
    :meth:`observe` the response, and do what the rules decide next. Every rule lives in
    the transport-free core (:class:`~tiktok_adapter.engine.limiter.Limiter`,
    ``core/decide.py``); this class only sends, reads, sleeps and raises.

    Settings come as keywords (see :class:`Settings`) or as a ``settings`` object;
    keywords win. Hooks (``on_wait``, ``on_rate_limited``, ``on_retry``) take an
    :class:`Event`. ``random_source`` (a function returning a float in [0, 1)) draws the
    backoff jitter. The constructor, pickling and monitoring: ``_requests/base.py``.
    """

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,
        verify: bool | str = True,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        limiter = self.limiter
        # The priority header is ours alone: it is taken off before the request goes out.
        priority = request.headers.pop(PRIORITY_HEADER, None)
        route, attempt = limiter.begin(request.url or "", priority)
        while True:
            self.admit(request, route, attempt)
            try:
                response = super().send(
                    request, stream=stream, timeout=timeout, verify=verify, cert=cert,
                    proxies=proxies,
                )  # fmt: skip
            except (requests.ConnectionError, requests.Timeout) as exc:
                seconds, attempt, effects = limiter.after_error(
                    route, attempt, self.may_resend_after_error(request, route, exc),
                    type(exc).__name__,
                )  # fmt: skip
                run(effects)
                if seconds is None:
                    raise
                self.clock.sleep(seconds)
                continue
            refusal = self.observe(request, route, response, stream, attempt)
            if refusal is None:
                return response
            decision, attempt = limiter.after_refusal(
                route, attempt, refusal, replayable(request.body)
            )
            if isinstance(decision, Raise):
                assert decision.problem is not None
                raise to_exception(decision.problem, request, response)
            if isinstance(decision, Return):
                return response
            release(response)  # and send again: the admission waits out the block

    def admit(
        self, request: requests.PreparedRequest, route: Route, attempt: Attempt | None = None
    ) -> float:
        """Wait until every window admits the request, or raise; returns seconds waited."""
        if attempt is None:
            attempt = self.limiter.start(route, self.default_priority)
        return self.limiter.admit(request, route, attempt)

    def observe(
        self,
        request: requests.PreparedRequest,
        route: Route,
        response: requests.Response,
        stream: bool,
        attempt: Attempt,
    ) -> Refusal | None:
        """Read the server's rate information (which bodies: ``_requests/body.py``), and
        do the work on the store it calls for; the refusal, if the answer is one."""
        status = response.status_code
        if status == 429:
            body = read_prefix(response, budget=self.body_deadline)
        # The status first: is_redirect alone looks for Location by raising KeyError.
        elif stream or (status in REDIRECT_STATI and response.is_redirect):
            body = None
        else:
            body = response.content
        # requests' lower_items() is the one public way to its names in lower case.
        answer = Answer(status, LowerHeaders(response.headers.lower_items()), body)
        outcome = self.limiter.observe(route, answer, attempt)
        if outcome.effects:  # most answers call for none
            run(outcome.effects)
        return outcome.refusal

    def may_resend_after_error(
        self, request: requests.PreparedRequest, route: Route, exc: Exception
    ) -> bool:
        """Whether a request that may have reached the server can go again: safe methods
        and read-only endpoints only, so that no comment is ever posted twice."""
        if isinstance(exc, requests.exceptions.SSLError):
            return False
        return resend_is_safe(request.method, route.read_only, request.body)
