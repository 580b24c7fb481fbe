"""The async recipe every async transport runs: admit, send, observe, decide, send again.

The httpx async transport and the aiohttp middleware differ only in how they send, read an
answer, let go of a refused one and raise (an :class:`AsyncIO`); this module holds the loop
once, as ``Steps`` holds the admission's decisions once for the sync and the async waits.
"""

from __future__ import annotations

from typing import Any, Generic, Protocol, TypeVar

from ..core.decide import Problem, Raise, Return
from ..core.identity import RequestLike
from ..core.refusal import Answer
from ..core.routes import Route
from ..storage import is_shared, open_async_store
from .async_effects import AsyncEffects
from .awaiting import AsyncAdmitter, asleep
from .limiter import Limiter, replayable, take_priority

RequestT = TypeVar("RequestT", contravariant=True)
ResponseT = TypeVar("ResponseT")


class AsyncIO(Protocol[RequestT, ResponseT]):
    """What one async transport does with its library's requests and responses."""

    @property
    def connection_errors(self) -> tuple[type[BaseException], ...]:
        """What the library raises when a request may or may not have reached the server."""

    async def send(self, request: RequestT) -> ResponseT: ...

    async def read(self, request: RequestT, response: ResponseT) -> tuple[ResponseT, Answer]:
        """The response to hand on (a read body may be put back into a new one) and the
        answer as plain values for the rules, its body read within the caps."""

    async def refused(self, response: ResponseT, answer: Answer) -> ResponseT:
        """A refusal: the response to hand on, its body read where the caller's error
        may carry it."""

    async def let_go(self, response: ResponseT) -> None:
        """A refused response that will be sent again: release its connection."""

    def may_resend(self, view: RequestLike, route: Route, exc: BaseException) -> bool: ...

    def error(self, problem: Problem, request: RequestT, response: ResponseT) -> BaseException:
        """The library's flavour of the exception for ``problem``."""


class AsyncRecipe(Generic[RequestT, ResponseT]):
    """One limiter's async side on one event loop: its async store, the admitter that
    queues tasks, and the runner of the work after an answer."""

    def __init__(self, limiter: Limiter, io: AsyncIO[RequestT, ResponseT]) -> None:
        s = limiter.settings
        self.limiter = limiter
        self.io = io
        shared = is_shared(s.storage_uri)
        self.astore = open_async_store(limiter.store, s.storage_uri, key_prefix=s.key_prefix,
                                       margin=s.safety_margin, use_storage_time=s.storage_time,
                                       clock=limiter.clock)  # fmt: skip
        self.admitter = AsyncAdmitter(limiter.steps, self.astore)
        self.effects = AsyncEffects(self.astore, off_loop=shared)
        # Learned limits on a shared store are first read at the first request, before
        # any is applied: in a thread, as the learner's later reads are.
        self._learned_read = not (shared and limiter.learner.policy.enabled)

    async def run(self, request: RequestT, view: RequestLike, headers: Any) -> ResponseT:
        """Send ``request`` (``view``: its URL, headers and body) within the limits; the
        priority header is taken out of ``headers``. The response to return, or raise."""
        limiter, io = self.limiter, self.io
        route, attempt = limiter.begin(view.url or "", take_priority(headers))
        if not self._learned_read:
            await self.effects.in_thread(limiter.learner.values)
            self._learned_read = True
        while True:
            windows, queue = limiter.routes.windows_for(route, view)
            await self.admitter.admit_async(view, route, attempt, windows, queue)
            limiter.reserve(route, windows)  # Research records: refund what does not come
            try:
                response = await io.send(request)
            except io.connection_errors as exc:
                seconds, attempt, effects = limiter.after_error(
                    route, attempt, io.may_resend(view, route, exc), type(exc).__name__
                )
                await self.effects.apply(effects)  # a late call's entries move first
                if seconds is None:
                    raise
                await asleep(limiter.clock, seconds)
                continue
            response, answer = await io.read(request, response)
            outcome = limiter.observe(route, answer, attempt)
            if outcome.refusal is not None:
                response = await io.refused(response, answer)
            if outcome.effects:  # most answers call for none
                await self.effects.apply(outcome.effects)
            if outcome.refusal is None:
                return response
            decision, attempt = limiter.after_refusal(route, attempt, outcome.refusal,
                                                      replayable(view.body))  # fmt: skip
            if isinstance(decision, Raise):
                assert decision.problem is not None
                raise io.error(decision.problem, request, response)
            if isinstance(decision, Return):
                return response
            await io.let_go(response)  # and send again: the admission waits out the block

    async def aclose(self, *, limiter_store: bool = True) -> None:
        """Wait for the work after answers, then close the async store (if any) and the
        limiter's own (on Redis, the fleet hears this member left: its last beat), that
        one in the runner's threads, never the loop's default executor. A transport on a
        limiter it shares (install()'s) leaves the limiter's store open:
        ``limiter_store=False``."""
        await self.effects.settled()
        await self.astore.aclose()
        if limiter_store:
            await self.effects.in_thread(self.limiter.store.close)
            await self.effects.settled()  # and let that thread go
