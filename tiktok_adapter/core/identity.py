"""Who a request is for: keyed hashes of its user token and business account, never raw."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit

from .credentials import MAX_BODY, find_token
from .jsonbody import parse_object

ACCOUNT_PARAM = "business_id"
_ANONYMOUS = "-"


class RequestLike(Protocol):
    """What the core reads of a request: requests' PreparedRequest has it, and a
    transport for another library builds one."""

    @property
    def url(self) -> str | None: ...

    @property
    def headers(self) -> Mapping[str, Any]: ...

    @property
    def body(self) -> Any: ...


def derive_secret(seed: str) -> bytes:
    """A hashing key from a shared seed, so every worker of a fleet hashes alike."""
    return hashlib.sha256(b"tiktok_adapter/identity/" + seed.encode()).digest()


def keyed_hash(secret: bytes, value: str) -> str:
    """A short, stable, irreversible stand-in for a token or id in storage keys."""
    return hmac.new(secret, value.encode(), hashlib.sha256).hexdigest()[:32]


def request_token(request: RequestLike) -> str | None:
    """The access token: headers, query, form or JSON body, as the cache keys find it."""
    return find_token(request.url or "", request.headers, request.body)


def request_account(request: RequestLike) -> str | None:
    """The business account a Business API call acts for (``business_id``)."""
    found = _query_value(request, ACCOUNT_PARAM)
    if found:
        return found
    body = request.body
    if isinstance(body, bytes) and len(body) <= MAX_BODY and ACCOUNT_PARAM.encode() in body:
        data = parse_object(body)
        value = data.get(ACCOUNT_PARAM) if data is not None else None
        return str(value) if value is not None else None
    return None


def scope_id(request: RequestLike, scope: str, secret: bytes) -> str:
    """The hashed identity that a ``scope`` ("token" or "account") limit counts per."""
    raw = request_token(request) if scope == "token" else request_account(request)
    return keyed_hash(secret, raw) if raw else _ANONYMOUS


def _query_value(request: RequestLike, name: str) -> str | None:
    url = request.url or ""
    if "?" not in url or name not in url:
        return None
    for key, value in parse_qsl(urlsplit(url).query):
        if key == name and value:
            return value
    return None
