"""TikTokTransport: an httpx transport that admits each attempt through the rate windows."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import httpx

from ..core.clock import Clock
from ..core.decide import Attempt, Raise, Return, Wait
from ..core.events import Hook
from ..core.refusal import Answer, Refusal, RefusalPolicy
from ..core.routes import Route
from ..core.stats import Counter
from ..engine.limiter import replayable
from ..settings import Settings
from ._base import LimitedTransport
from ._common import (
    CONNECTION_ERRORS,
    LowerHeaders,
    RequestView,
    answer,
    may_resend,
    read_already,
    read_raw,
    rebuilt,
    wants_body,
)
from ._errors import to_exception

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ..settings import SettingsKwargs


class TikTokTransport(LimitedTransport, httpx.BaseTransport):
    """Wraps an httpx transport (``httpx.HTTPTransport()`` unless given) with the limits.

    ``handle_request`` is the requests adapter's recipe: resolve the endpoint, admit
    (sleep, queue by priority, or raise), send, observe the answer, and do what the
    core's rules decide. Settings come as keywords or a ``settings`` object, as for
    :class:`~tiktok_adapter.TikTokAdapter`.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        clock: Clock | None = None,
        refusal_policy: RefusalPolicy | None = None,
        on_wait: Hook | None = None,
        on_rate_limited: Hook | None = None,
        on_retry: Hook | None = None,
        random_source: Callable[[], float] | None = None,
        **options: Unpack[SettingsKwargs],
    ) -> None:
        self._setup(
            settings, dict(options), clock=clock, refusal_policy=refusal_policy,
            random_source=random_source,
            hooks={"on_wait": on_wait, "on_rate_limited": on_rate_limited, "on_retry": on_retry},
        )  # fmt: skip
        self.transport = transport if transport is not None else httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        limiter = self.limiter
        view = RequestView.of(request)
        route = limiter.resolve(view.url)
        attempt = limiter.start(route, limiter.priority_of(request.headers))
        while True:
            limiter.admit(view, route, attempt)
            try:
                response = self.transport.handle_request(request)
            except CONNECTION_ERRORS as exc:
                decision, attempt = limiter.rules.connection_error(
                    attempt, may_resend(view, route, exc), limiter.rand(), self.clock.now()
                )
                if not isinstance(decision, Wait):
                    raise
                self._retrying(route, attempt, decision.seconds, type(exc).__name__)
                continue
            response, refusal = self._observe(request, route, response, attempt)
            if refusal is None:
                return response
            decision, attempt = limiter.rules.refusal(
                attempt, refusal, replayable(view.body), self.clock.now()
            )
            if isinstance(decision, Raise):
                limiter.count(route, Counter.REFUSALS)
                assert decision.problem is not None
                raise to_exception(decision.problem, request, response)
            if isinstance(decision, Return):
                return response
            response.close()
            self._retrying(route, attempt, 0.0, refusal.code)

    def _observe(
        self, request: httpx.Request, route: Route, response: httpx.Response, attempt: Attempt
    ) -> tuple[httpx.Response, Refusal | None]:
        """A 429's body is read up to the cap; a 200's only when it is small JSON."""
        status, headers = response.status_code, LowerHeaders.of(response.headers)
        judged = status == 429 or wants_body(request, status, headers)
        # An inner transport may have read the body already (MockTransport reads all).
        seen = read_already(response, headers) if judged else None
        if seen is not None or not judged:
            seen = seen or Answer(status, headers, None)
        elif status == 429:  # of any length: read no more than the cap
            raw, complete = read_raw(response)
            response = rebuilt(response, raw, complete)
            seen = answer(response, headers, raw, complete)
        else:  # a 200 whose declared length (which h11 and h2 enforce) is within the cap
            response.read()
            seen = Answer(status, headers, response.content)
        return response, self.limiter.observe(route, seen, attempt)

    def _retrying(self, route: Route, attempt: Attempt, seconds: float, why: str) -> None:
        self.limiter.retrying(route, attempt, seconds, why)
        if seconds > 0:
            self.clock.sleep(seconds)

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
