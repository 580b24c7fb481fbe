"""What every stack's patch shares: the hosts it limits, the one limiter, the errors each
library's callers catch, and the mark that a request was admitted already."""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from ..core.hosts import host_name
from ..engine.steps import ErrorFactory

if TYPE_CHECKING:
    import requests

    from ..engine.facade import LimiterFacade
    from ..engine.limiter import Limiter

# What undoes one patch; uninstall() runs them newest first.
Undo = Callable[[], None]

# Set while a limiting transport sends a request it has admitted: the requests adapter
# sends through urllib3's pools, and urllib3's patch must not count that request twice.
ADMITTED: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "tiktok_adapter_admitted", default=False
)
# The error factory of the stack sending now: the limiter is shared, but a caller of
# httpx expects an httpx.HTTPError, a caller of aiohttp an aiohttp.ClientError.
FLAVOUR: contextvars.ContextVar[ErrorFactory | None] = contextvars.ContextVar(
    "tiktok_adapter_flavour", default=None
)


class Installed(Protocol):
    """What install() hands the stacks (``tiktok_adapter._requests.install.Installation``)."""

    @property
    def adapter(self) -> LimiterFacade: ...

    @property
    def base_url(self) -> str | None: ...

    def attach(self, session: requests.Session) -> None: ...

    def detach_all(self) -> None: ...


@dataclass(frozen=True)
class Target:
    """The installed limiter and the hosts (lower case, no trailing dot) it covers."""

    limiter: Limiter
    hosts: frozenset[str]

    def covers(self, host: str | None) -> bool:
        return (host or "").rstrip(".").lower() in self.hosts

    def covers_url(self, url: str) -> bool:
        return self.covers(urlsplit(url).hostname)


def target_of(limiter: Limiter, base_url: str | None) -> Target:
    """``base_url``'s host, else every host of the preset (production, sandbox, upload),
    as mount() covers them."""
    if base_url is not None:
        return Target(limiter, frozenset({host_name(base_url)}))
    return Target(limiter, frozenset(h.name for h in limiter.preset.hosts))


@contextmanager
def sending(flavour: ErrorFactory | None = None) -> Iterator[None]:
    """Mark the request as admitted here, and raise ``flavour``'s errors meanwhile."""
    admitted = ADMITTED.set(True)
    chosen = FLAVOUR.set(flavour) if flavour is not None else None
    try:
        yield
    finally:
        if chosen is not None:
            FLAVOUR.reset(chosen)
        ADMITTED.reset(admitted)


class Flavoured:
    """An error factory that builds the sending stack's flavour, else ``default``'s."""

    def __init__(self, default: ErrorFactory) -> None:
        self.default = default

    def __call__(self, problem: Any, request: Any) -> Exception:
        return (FLAVOUR.get() or self.default)(problem, request)


def flavour_errors(limiter: Limiter) -> Undo:
    """Give the shared limiter's admissions each stack's flavour of errors, until undone."""
    steps = limiter.steps
    original = steps.errors
    flavoured = Flavoured(original)
    steps.errors = flavoured

    def undo() -> None:
        if steps.errors is flavoured:
            steps.errors = original

    return undo


def lower_headers(headers: Any) -> dict[str, str]:
    """Response headers as the core reads them: lower-case names (the last of a repeat)."""
    return {str(name).lower(): str(value) for name, value in headers.items()}


class RequestView:
    """A request as the core's ``RequestLike``: url, headers, body, method, the original."""

    __slots__ = ("body", "headers", "method", "original", "url")

    def __init__(self, url: str, headers: Mapping[str, Any] | None, body: Any, method: str,
                 original: Any = None) -> None:  # fmt: skip
        self.url, self.headers, self.body = url, headers if headers is not None else {}, body
        self.method, self.original = method.upper(), original
