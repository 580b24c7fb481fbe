"""TikTokTransport: an httpx transport that admits each attempt through the rate windows."""

from __future__ import annotations

from typing import Any

import httpx

from ..core.decide import Attempt, Raise, Return
from ..core.refusal import BODY_DEADLINE, Answer, Refusal
from ..core.routes import Route
from ..engine.effects import run
from ..engine.limiter import replayable, take_priority
from ._base import LimitedTransport
from ._body import read_declared, read_for_error, read_raw, refused
from ._common import CONNECTION_ERRORS, Read, RequestView, may_resend, reading
from ._errors import to_exception


class TikTokTransport(LimitedTransport[httpx.BaseTransport], httpx.BaseTransport):
    """Wraps an httpx transport (``httpx.HTTPTransport()`` unless given) with the limits.

    ``handle_request`` is the requests adapter's recipe: resolve the endpoint, admit
    (sleep, queue by priority, or raise), send, observe the answer, and do what the
    core's rules decide. Settings come as keywords or a ``settings`` object, as for
    :class:`~tiktok_adapter.TikTokAdapter`.
    """

    # Seconds a body read for the transport's own purposes (a 429's, a small JSON 200's)
    # may take in all, however slowly it comes.
    body_deadline: float = BODY_DEADLINE

    def default_transport(self) -> httpx.BaseTransport:
        return httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        limiter = self.limiter
        view = RequestView.of(request)
        route, attempt = limiter.begin(view.url, take_priority(request.headers))
        while True:
            limiter.admit(view, route, attempt)
            try:
                response = self.transport.handle_request(request)
            except CONNECTION_ERRORS as exc:
                seconds, attempt, effects = limiter.after_error(
                    route, attempt, may_resend(view, route, exc), type(exc).__name__
                )
                run(effects)
                if seconds is None:
                    raise
                self.clock.sleep(seconds)
                continue
            response, refusal = self._observe(request, route, response, attempt)
            if refusal is None:
                return response
            decision, attempt = limiter.after_refusal(route, attempt, refusal,
                                                      replayable(view.body))  # fmt: skip
            if isinstance(decision, Raise):
                assert decision.problem is not None
                raise to_exception(decision.problem, request, response)
            if isinstance(decision, Return):
                return response
            response.close()  # and send again: the admission waits out the block

    def _observe(
        self, request: httpx.Request, route: Route, response: httpx.Response, attempt: Attempt
    ) -> tuple[httpx.Response, Refusal | None]:
        """A 429's body is read up to the cap; a 200's only when it is small JSON."""
        headers, seen, read = reading(request, response)
        if read is Read.CAPPED:
            raw, complete = read_raw(response, self.body_deadline)
            response, body = refused(response, raw, complete)
            seen = Answer(response.status_code, headers, body)
        elif read is Read.WHOLE:
            response, body = read_declared(response, self.body_deadline)
            seen = Answer(response.status_code, headers, body)
        assert seen is not None
        outcome = self.limiter.observe(route, seen, attempt)
        if outcome.effects:  # most answers call for none
            run(outcome.effects)
        refusal = outcome.refusal
        if refusal is not None and read is Read.WHOLE and seen.body is not None:
            response = read_for_error(response)  # an error may carry it
        return response, refusal

    def close(self) -> None:
        """Close the wrapped transport and the store's client, as the adapter does; the
        windows live as long as this object (a store reconnects on its next use)."""
        self.transport.close()
        self.limiter.store.close()

    def __enter__(self) -> TikTokTransport:
        self.transport.__enter__()
        return self

    def __exit__(self, *args: Any) -> None:
        self.transport.__exit__(*args)
