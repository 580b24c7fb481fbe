"""The one place that decides whether a response is a rate-limit refusal, and of what kind."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Protocol

import requests

from ._headers import RateInfo

logger = logging.getLogger(__name__)

RATE = "rate"
QUOTA = "quota"
# Bodies beyond this are not error envelopes; never parse them on the hot path.
_MAX_ERROR_BODY = 64 * 1024


@dataclass(frozen=True)
class Refusal:
    """The server refused: ``kind`` is "rate" (back off, retry) or "quota" (spent until reset)."""

    kind: str
    code: str
    retry_at: float | None = None


class RefusalPolicy(Protocol):
    """Decides whether ``response`` is a refusal; plug in another API family here."""

    def classify(
        self, response: requests.Response, info: RateInfo | None, *, may_read_body: bool
    ) -> Refusal | None: ...


@dataclass(frozen=True)
class TikTokRefusals:
    """TikTok's ways of saying no.

    - HTTP 429, with or without headers and body;
    - the v2 envelope ``{"error": {"code": "rate_limit_exceeded"}}``, even inside a 200;
    - ``daily_quota_limit_exceeded``: a spent daily quota;
    - the Business API's 200 with ``{"code": 40100, ...}`` (``business_codes``).

    A 200's body is read only when the caller did not ask to stream it, it is JSON,
    and its raw bytes mention one of the codes, so ordinary responses cost a
    substring search at most.
    """

    rate_codes: frozenset[str] = frozenset({"rate_limit_exceeded"})
    quota_codes: frozenset[str] = frozenset({"daily_quota_limit_exceeded"})
    business_codes: frozenset[int] = frozenset({40100})
    _markers: tuple[bytes, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        markers = [c.encode() for c in (*self.rate_codes, *self.quota_codes)]
        markers += [str(c).encode() for c in self.business_codes]
        object.__setattr__(self, "_markers", tuple(markers))

    def classify(
        self, response: requests.Response, info: RateInfo | None, *, may_read_body: bool
    ) -> Refusal | None:
        retry_at = _server_moment(info)
        status = response.status_code
        if status == 429:
            body_code = self._body_code(response)
            kind = QUOTA if body_code in self.quota_codes else RATE
            return Refusal(kind, body_code or "http_429", retry_at)
        if status != 200 or not may_read_body or not self._looks_refused(response):
            return None
        code = self._body_code(response)
        if code is None:
            return None
        kind = QUOTA if code in self.quota_codes else RATE
        return Refusal(kind, code, retry_at)

    def _looks_refused(self, response: requests.Response) -> bool:
        if "json" not in response.headers.get("Content-Type", ""):
            return False
        content = response.content
        if not content or len(content) > _MAX_ERROR_BODY:
            return False
        return any(marker in content for marker in self._markers)

    def _body_code(self, response: requests.Response) -> str | None:
        """The refusal code in a JSON body, or None when the body names none."""
        try:
            content = response.content
            if not content or len(content) > _MAX_ERROR_BODY:
                return None
            body = json.loads(content)
        except (ValueError, RuntimeError, requests.RequestException):
            return None
        if not isinstance(body, dict):
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


def _server_moment(info: RateInfo | None) -> float | None:
    if info is None:
        return None
    return info.retry_at if info.retry_at is not None else info.reset_at
