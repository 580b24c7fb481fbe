"""Where credentials travel in a request: the one lookup the limiter, cache and logs share.

A token can ride in a header, the query, or a form or JSON body. Per-token limits,
cache keys and redaction must all find it in the same places, or a token the cache
keeps apart would count as anonymous in a per-token window (or the reverse). So every
one of them asks this module, and nothing here needs requests-cache.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit

# Every header or parameter that can carry a credential: TikTok's three ways (Bearer,
# the Business API's Access-Token, the access_token parameter) plus the common others.
CREDENTIAL_HEADERS = frozenset(
    {
        "authorization",
        "access-token",
        "proxy-authorization",
        "x-access-token",
        "x-api-key",
        "x-api-token",
        "x-auth-token",
    }
)
CREDENTIAL_PARAMS = frozenset({"access_token", "api_key", "apikey"})
TOKEN_PARAM = "access_token"

# Bodies larger than this are never parsed (a read's body is a few hundred bytes); the
# cache does not store reads whose body is larger, so nothing it keeps goes unchecked.
MAX_BODY = 64 * 1024
_HINTS = tuple(name.encode() for name in CREDENTIAL_PARAMS)
_FORM = "application/x-www-form-urlencoded"

Replace = Callable[[str, str], str]
"""Called with (where, value) for each credential found; returns what to put in its place."""


def as_bytes(body: Any) -> bytes | None:
    """The body when it is text or bytes; None for a stream, a file or no body."""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8", "replace")
    return None


def too_large(body: Any) -> bool:
    """A body over the cap (streams count as too large: they cannot be read twice)."""
    if body is None or body in (b"", ""):
        return False
    return not isinstance(body, (bytes, str)) or len(body) > MAX_BODY


def mentions_param(data: bytes | str) -> bool:
    """The cheap test before any parsing: could ``data`` hold a credential parameter?"""
    # A percent-encoded name could hide from the plain search, so those are always parsed.
    raw = data.encode("utf-8", "replace") if isinstance(data, str) else data
    lowered = raw.lower()
    return b"%" in lowered or any(hint in lowered for hint in _HINTS)


def searchable(body: Any) -> bytes | None:
    """The body as bytes when it could hold a credential and is small enough to parse."""
    raw = as_bytes(body)
    if not raw or len(raw) > MAX_BODY or not mentions_param(raw):
        return None
    return raw


def body_fields(body: Any, content_type: str) -> list[tuple[str, str]] | dict[str, Any] | None:
    """The parameters of a form body (pairs) or a JSON object body (a dict).

    None when the body cannot hold a credential: absent, a stream, over the cap, not
    mentioning one, or neither a form nor a JSON object.
    """
    raw = searchable(body)
    return _parse(raw, content_type) if raw is not None else None


def _parse(raw: bytes, content_type: str) -> list[tuple[str, str]] | dict[str, Any] | None:
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind != _FORM and ("json" in kind or raw.lstrip()[:1] in (b"{", b"[")):
        # core/jsonbody.py's catch, spelled out: the tests watch json.loads through
        # this module to prove that a body naming no token is never parsed.
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError):  # deeply nested input raises the latter
            return None
        return data if isinstance(data, dict) else None
    return parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True)


def query_pairs(url: str) -> list[tuple[str, str]]:
    if "?" not in url:
        return []
    query = urlsplit(url).query
    if not query or not mentions_param(query):
        return []
    return parse_qsl(query, keep_blank_values=True)


def find_token(url: str, headers: Mapping[str, Any], body: Any) -> str | None:
    """The access token, wherever TikTok accepts it, in this order of precedence.

    ``Authorization`` (the value after ``Bearer``, or the whole value for another
    scheme), then ``Access-Token``, then ``access_token`` in the query, then in a form
    or JSON body. Headers come first, so the common case never looks at the body.
    """
    auth = _text(headers.get("Authorization"))
    if auth:
        scheme, _, value = auth.partition(" ")
        return value.strip() if scheme.lower() == "bearer" and value.strip() else auth
    token = _text(headers.get("Access-Token"))
    if token:
        return token.strip()
    for name, value in query_pairs(url):
        if value and name.lower() == TOKEN_PARAM:
            return value
    raw = searchable(body)  # the cheap test first: most bodies never reach a parser
    if raw is None:
        return None
    fields = _parse(raw, str(headers.get("Content-Type") or ""))
    items: Iterable[tuple[str, Any]] = fields.items() if isinstance(fields, dict) else fields or ()
    for name, value in items:
        if isinstance(value, str) and value and name.lower() == TOKEN_PARAM:
            return value
    return None


def _text(value: Any) -> str:
    # requests allows bytes header values; they go on the wire as latin-1.
    return value.decode("latin-1") if isinstance(value, bytes) else str(value or "")
