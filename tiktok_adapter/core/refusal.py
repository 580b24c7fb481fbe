"""The one place that decides whether an answer is a refusal, and of what kind.

It reads plain values (status, headers, a bounded body prefix), so every transport
shares it: what counts as a refusal is changed here and nowhere else.
"""

from __future__ import annotations

import enum
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, NamedTuple, Protocol

from .headers import LowerHeaders, RateInfo, case_insensitive
from .jsonbody import parse_object
from .retry import RetryPolicy

logger = logging.getLogger(__name__)

# Bodies beyond this are not error envelopes: no transport reads more of a refusal.
MAX_ERROR_BODY = 64 * 1024
# However slowly a hostile server trickles a body read for the adapter's own purposes (a
# 429's, a small JSON 200's), the read ends by then: one deadline for the whole read.
BODY_DEADLINE = 10.0
# A window that resets further away than this is a quota (a day, a spent allowance),
# not a pause: a server's "Remaining: 0" with such a reset blocks as a quota.
QUOTA_HORIZON = 3600.0


class RefusalKind(enum.Enum):
    """``RATE``: back off and retry; ``QUOTA``: spent until it resets."""

    RATE = "rate"
    QUOTA = "quota"


RATE = RefusalKind.RATE
QUOTA = RefusalKind.QUOTA


class Answer(NamedTuple):
    """A response as plain values: ``headers`` must look names up case-insensitively, and
    ``body`` is the body when it was read (at most :data:`MAX_ERROR_BODY` for a 429),
    or None when the caller streams it. One per response: a NamedTuple is cheap to build."""

    status: int
    headers: Mapping[str, str]
    body: bytes | None = None


@dataclass(frozen=True)
class Refusal:
    """The server refused: ``kind`` says whether to back off or wait for a reset."""

    kind: RefusalKind
    code: str
    retry_at: float | None = None
    # What the refusal is about: the endpoint's own limit, or the whole app's (the
    # Business API's 40100 is the app's QPS); learned limits lower that scope.
    scope: Literal["endpoint", "app"] = "endpoint"
    # The answer holds a result all the same (a 200 whose ``data`` is a non-empty
    # object): the request was processed, so it is returned, never sent again.
    processed: bool = False


@dataclass(frozen=True)
class Exhausted:
    """The server said ``Remaining: 0``: the endpoint is closed until ``until``."""

    until: float
    quota: bool


@dataclass(frozen=True)
class OwnWindow:
    """One of our windows of the endpoint as the store counts it when an answer came."""

    amount: int  # its limit
    used: int
    frees_at: float  # when its oldest entry leaves, the safety margin included


class RefusalPolicy(Protocol):
    """Decides whether an answer is a refusal; plug in another API family here."""

    def classify(self, answer: Answer, info: RateInfo | None) -> Refusal | None: ...


@dataclass(frozen=True)
class TikTokRefusals:
    """TikTok's ways of saying no.

    - HTTP 429, with or without headers and body;
    - the v2 envelope ``{"error": {"code": "rate_limit_exceeded"}}``, even inside a 200;
    - ``daily_quota_limit_exceeded``: a spent daily quota;
    - the Business API's 200 with ``{"code": 40100, ...}`` (``business_codes``).

    A 200's body is looked at only when it was read (not streamed), it is JSON, and its
    raw bytes mention one of the codes, so ordinary responses cost a substring search
    at most.
    """

    rate_codes: frozenset[str] = frozenset({"rate_limit_exceeded"})
    quota_codes: frozenset[str] = frozenset({"daily_quota_limit_exceeded"})
    business_codes: frozenset[int] = frozenset({40100})
    # One pattern for every code: a 200 is searched once, not once per code.
    _markers: re.Pattern[bytes] = field(init=False, repr=False, compare=False)
    _business: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        markers = [c.encode() for c in (*self.rate_codes, *self.quota_codes)]
        markers += [str(c).encode() for c in self.business_codes]
        pattern = b"|".join(re.escape(m) for m in markers) or b"(?!)"  # (?!) never matches
        object.__setattr__(self, "_markers", re.compile(pattern))
        object.__setattr__(self, "_business", frozenset(str(c) for c in self.business_codes))

    def classify(self, answer: Answer, info: RateInfo | None) -> Refusal | None:
        if answer.status == 429:
            body_code = self._body_code(answer.body)
            kind = QUOTA if body_code in self.quota_codes else RATE
            return Refusal(kind, body_code or "http_429", _server_moment(info))
        if answer.status != 200:
            return None
        # A 200 is a refusal only in a JSON body that names a code: one regex search in
        # the common case, and the headers are looked at only when it matches.
        content = answer.body
        if not content or len(content) > MAX_ERROR_BODY or self._markers.search(content) is None:
            return None
        headers = answer.headers
        if type(headers) is not LowerHeaders:
            headers = case_insensitive(headers)
        if "json" not in headers.get("content-type", ""):
            return None
        code = self._body_code(content)
        if code is None:
            return None
        kind = QUOTA if code in self.quota_codes else RATE
        scope: Literal["endpoint", "app"] = "app" if code in self._business else "endpoint"
        return Refusal(kind, code, _server_moment(info), scope, _has_result(content))

    def _body_code(self, content: bytes | None) -> str | None:
        """The refusal code in a JSON body, or None when the body names none."""
        body = parse_object(content, MAX_ERROR_BODY) if content else None
        if body is None:
            return None
        error = body.get("error")
        if isinstance(error, dict):
            code = error.get("code")
            if isinstance(code, str) and code in (self.rate_codes | self.quota_codes):
                return code
        code = body.get("code")
        if isinstance(code, int) and not isinstance(code, bool) and code in self.business_codes:
            return str(code)
        return None


def exhausted(
    info: RateInfo | None, now: float, retry: RetryPolicy, own: Sequence[OwnWindow] = ()
) -> Exhausted | None:
    """``Remaining: 0`` with a reset closes the endpoint until then, for every caller; a
    reset hours away is a quota, not a pause to sleep off.

    ``own`` are our windows of the endpoint. When one of them explains the server's 0 (it
    is full, holds at least the server's Limit, and frees no earlier than the server's
    reset may truly be, given the headers' rounding: ``reset_slack``), the endpoint
    closes only until that window frees: whole-second headers name a moment up to two
    seconds late, and a window we count ourselves is not. Any other 0 (a server window
    lower than ours, or spent by someone else) closes it until the server's reset.
    """
    if info is None or info.remaining != 0 or info.reset_at is None:
        return None
    until = info.reset_at
    if info.reset_slack > 0:
        earliest = until - info.reset_slack
        limit = info.limit
        frees = [
            w.frees_at for w in own
            if w.used >= w.amount and (limit is None or w.used >= limit) and w.frees_at >= earliest
        ]  # fmt: skip
        if frees:
            until = min(until, max(frees))
    wait = retry.clamp_server_wait(until - now)
    return Exhausted(now + wait, wait > QUOTA_HORIZON)


def _has_result(content: bytes | None) -> bool:
    """Whether a 200's body has a non-empty ``data`` object, as TikTok's answers to work
    it did (a created comment's id); its refusals carry ``"data": {}`` or none."""
    body = parse_object(content, MAX_ERROR_BODY)
    data = body.get("data") if body is not None else None
    return isinstance(data, dict) and bool(data)


def _server_moment(info: RateInfo | None) -> float | None:
    if info is None:
        return None
    return info.retry_at if info.retry_at is not None else info.reset_at
