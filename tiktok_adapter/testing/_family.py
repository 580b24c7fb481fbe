"""What an API family plugs into the simulator's core: its routes and its ways of answering."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from ..core.errors import ConfigurationError
from ._data import ApiError, World

if TYPE_CHECKING:
    from ._oauth import OAuth
from ._windows import ServerRate

# (query, JSON body, now) -> the ``data`` of a successful answer, or raise ApiError.
Handler = Callable[[Mapping[str, str], dict[str, Any], float], Any]
Body = dict[str, Any]


@dataclass(frozen=True)
class RateHeaders:
    """Which rate headers the simulator sends, when it is asked to send them.

    TikTok documents no ``X-RateLimit-*`` or ``Retry-After`` header on any endpoint,
    so the simulator sends none unless told (``rate_headers=True``, or one of these
    with some of them off); ``Date`` is an ordinary HTTP header and stays on.
    """

    limit: bool = True
    remaining: bool = True
    reset: bool = True
    retry_after: bool = True
    date: bool = True


NO_RATE_HEADERS = RateHeaders(limit=False, remaining=False, reset=False, retry_after=False)


def rate_headers_of(choice: RateHeaders | bool | None) -> RateHeaders:
    """The headers for ``rate_headers=``: None or False sends none of TikTok's undocumented
    rate headers (only ``Date``), True sends them all, a RateHeaders picks."""
    if isinstance(choice, RateHeaders):
        return choice
    if choice is None or choice is False:
        return NO_RATE_HEADERS
    if choice is True:
        return RateHeaders()
    raise ConfigurationError(
        f"rate_headers={choice!r} is not valid; use True, False, None or RateHeaders(...)"
    )


@dataclass(frozen=True)
class ApiRoute:
    """One endpoint a family answers: the methods it takes and the handler of its data.

    ``body_required`` is False where a POST without a JSON object is still valid;
    ``public`` routes (OAuth) answer without an access token even with ``require_auth``.
    """

    methods: tuple[str, ...]
    handler: Handler
    body_required: bool = True
    public: bool = False


@dataclass(frozen=True)
class Raw:
    """A handler's answer sent as it is, outside the family's envelope (OAuth answers so)."""

    status: int
    body: dict[str, Any]


class Family(Protocol):
    """An API family: its routes, how it authenticates, and the shape of every answer.

    The shaping methods return the HTTP status and the JSON body; the core adds the
    headers and counts. ``request_id`` is the id of this answer (TikTok's log id).
    """

    name: str
    # What a refusal is called in summaries ("429", "code 40100").
    refusal_label: str
    # The headers sent unless told otherwise: TikTok documents no rate header, so none.
    default_headers: RateHeaders

    def routes(self, world: World, oauth: OAuth) -> Mapping[str, ApiRoute]: ...

    def authorized(self, headers: Mapping[str, str]) -> bool: ...

    def success(self, data: Any, request_id: str) -> tuple[int, Body]: ...

    def error(self, error: ApiError, request_id: str) -> tuple[int, Body]: ...

    def refusal(self, full: Sequence[ServerRate], request_id: str) -> tuple[int, Body]:
        """The answer past a limit; ``full`` are the spent windows, longest to free first."""
        ...


def request_id(now: float, serial: int) -> str:
    """An id like TikTok's: the UTC time of the answer, then a serial in hex."""
    return f"{time.strftime('%Y%m%d%H%M%S', time.gmtime(now))}{serial:012X}"


def invalid(message: str) -> ApiError:
    return ApiError(400, "invalid_params", message)


def whole(value: object, name: str, default: int, low: int, high: int | None) -> int:
    """A whole number from a query string or a JSON body, within ``low`` to ``high``."""
    if value is None or value == "":
        return default
    if isinstance(value, str):
        try:
            value = int(value)
        except ValueError:
            value = None
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or value < low
        or (high is not None and value > high)
    ):
        span = f"{low} to {high}" if high is not None else f"{low} or more"
        raise invalid(f"{name} must be a whole number, {span}")
    return value
