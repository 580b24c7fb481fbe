"""Cache keys that keep access tokens apart, and redaction of tokens from what the cache stores."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, quote_plus, urlencode, urlsplit, urlunsplit

from requests import PreparedRequest, Request
from requests.structures import CaseInsensitiveDict
from requests_cache.cache_keys import create_key
from requests_cache.models.request import CachedRequest
from requests_cache.models.response import CachedResponse

from ..core.credentials import (
    CREDENTIAL_HEADERS,
    CREDENTIAL_PARAMS,
    Replace,
    body_fields,
    query_pairs,
)
from ..exceptions import ConfigurationError

KEY_VERSION = b"tiktok_adapter/cache-key/1"
MARKER_PREFIX = "REDACTED:hmac-sha256:"
_MARKER = re.compile(r"REDACTED:hmac-sha256:([0-9a-f]{32})\Z")
_BLANK = "REDACTED"
# Response headers whose value is a URL: a redirect that keeps the query keeps the token.
_URL_HEADERS = frozenset({"location", "content-location"})
_MIN_ECHO = 8

_process_secret: bytes | None = None
_secret_lock = threading.Lock()


def process_secret() -> bytes:
    """A random key made once per process: keys it makes are useless to any other process."""
    global _process_secret
    with _secret_lock:
        if _process_secret is None:
            _process_secret = os.urandom(32)
        return _process_secret


def coerce_secret(secret: str | bytes | None) -> bytes:
    """The HMAC key for ``secret``, or the per-process random key when it is None."""
    if secret is None:
        return process_secret()
    raw = secret.encode() if isinstance(secret, str) else bytes(secret)
    if not raw:
        raise ConfigurationError("secret='' is empty; pass a long random string, or None")
    # Derived, so a secret also used elsewhere never yields digests that match that use.
    return hmac.new(raw, KEY_VERSION, hashlib.sha256).digest()


class Redactor:
    """Replaces credentials in requests and responses; knows the HMAC key."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def digest(self, value: str) -> str:
        return hmac.new(self._secret, value.encode(), hashlib.sha256).hexdigest()[:32]

    def marker(self, where: str, value: str) -> str:
        """What the cache stores instead of a credential: its keyed hash, never the value."""
        if _MARKER.match(value):
            return value
        return MARKER_PREFIX + self.digest(value)

    def identity_digest(self, value: str, trust_markers: bool) -> str:
        # A stored request carries markers; reading them back gives the same key as the
        # live request had (requests-cache recomputes keys from stored requests for Vary).
        found = _MARKER.match(value) if trust_markers else None
        return found.group(1) if found else self.digest(value)

    def redact_response(self, value: Any) -> Any:
        """A copy of a CachedResponse with every credential replaced by its marker.

        A server may echo the token in any header (``Location`` of a redirect that keeps
        the query, ``Content-Location``, ``Link``), so besides the credential headers and
        URL queries, every header value loses each token its requests carried.
        """
        if not isinstance(value, CachedResponse):
            return value
        return self._redact(value, self._echoes(value))

    def _redact(self, value: CachedResponse, echoes: dict[str, str]) -> CachedResponse:
        # A copy through requests-cache's public constructor fields (``next`` is one).
        nxt = value.next
        return CachedResponse.from_response(
            value,
            url=rewrite_url(value.url or "", self.marker),
            headers=rewrite_headers(value.headers, self.marker, echoes),
            request=self.redact_request(value.request, echoes),
            history=[
                self._redact(h, echoes) if isinstance(h, CachedResponse) else h
                for h in value.history
            ],
            next=self.redact_request(nxt, echoes) if nxt is not None else None,
        )

    def redact_request(
        self, request: CachedRequest | PreparedRequest, echoes: Mapping[str, str] | None = None
    ) -> CachedRequest:
        return rewrite_request(as_cached_request(request), self.marker, echoes)

    def _echoes(self, value: CachedResponse) -> dict[str, str]:
        """Each token the requests of ``value`` and its redirects carried, as a server
        could echo it (raw or percent-encoded), mapped to its marker."""
        found: set[str] = set()

        def note(where: str, token: str) -> str:
            scheme, _, rest = token.partition(" ")
            found.update((token, rest.strip()) if scheme.lower() == "bearer" else (token,))
            return token

        for response in (value, *value.history):
            request = getattr(response, "request", None)
            if request is not None:
                rewrite_request(as_cached_request(request), note)
        echoes: dict[str, str] = {}
        for token in found:
            # A short value would match inside unrelated text; no real token is that short.
            if len(token) >= _MIN_ECHO and not _MARKER.match(token):
                mark = self.marker("echo", token)
                for form in (token, quote(token, safe=""), quote(token), quote_plus(token)):
                    echoes[form] = mark
        return echoes


class KeyFunction:
    """A requests-cache ``key_fn``: its key plus a keyed hash of the request's credentials.

    Credentials are blanked before requests-cache's own ``create_key`` sees the request,
    so they enter the key only through HMAC-SHA256 under the secret. Two tokens never
    share a key; the same token always does (in every process holding the secret).
    """

    def __init__(self, secret: bytes) -> None:
        self.redactor = Redactor(secret)

    def __call__(
        self,
        request: Request | PreparedRequest | CachedRequest,
        ignored_parameters: Any = None,
        match_headers: Any = False,
        serializer: Any = None,
        content_root_key: str | None = None,
        **request_kwargs: Any,
    ) -> str:
        trust = isinstance(request, CachedRequest)
        digests: list[str] = []

        def blank(where: str, value: str) -> str:
            digests.append(f"{where}={self.redactor.identity_digest(value, trust)}")
            return _BLANK

        blanked = rewrite_request(as_cached_request(request), blank)
        base = create_key(
            blanked,
            ignored_parameters=ignored_parameters,
            match_headers=match_headers,
            serializer=serializer,
            content_root_key=content_root_key,
            **request_kwargs,
        )
        identity = "\n".join(sorted(digests)) or "-"
        material = b"\0".join((KEY_VERSION, base.encode(), identity.encode()))
        return hashlib.sha256(material).hexdigest()[:32]

    def __repr__(self) -> str:
        return "KeyFunction(<secret>)"


def as_cached_request(request: Request | PreparedRequest | CachedRequest) -> CachedRequest:
    """A CachedRequest copy that can be rewritten without touching the caller's request."""
    if isinstance(request, CachedRequest):
        return request.copy()
    if isinstance(request, Request):
        request = request.prepare()
    return CachedRequest.from_request(request)


def rewrite_request(
    request: CachedRequest, replace: Replace, echoes: Mapping[str, str] | None = None
) -> CachedRequest:
    """``request`` (changed in place) with each credential replaced."""
    request.headers = rewrite_headers(request.headers, replace, echoes)
    request.url = rewrite_url(request.url or "", replace)
    content_type = str(request.headers.get("Content-Type") or "")
    request.body = rewrite_body(request.body, content_type, replace) or b""
    return request


# -- tokens replaced in what the cache stores ------------------------------------------


def rewrite_headers(
    headers: Any, replace: Replace, echoes: Mapping[str, str] | None = None
) -> CaseInsensitiveDict[str]:
    """``headers`` with credentials replaced; URL headers' queries and ``echoes`` too."""
    out: CaseInsensitiveDict[str] = CaseInsensitiveDict()
    for name, value in (headers or {}).items():
        text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
        lower = name.lower()
        if lower in CREDENTIAL_HEADERS:
            out[name] = replace(f"header:{lower}", text)
            continue
        if lower in _URL_HEADERS:
            try:
                text = rewrite_url(text, replace)
            except ValueError:  # not a URL (a hostile server's); the echo search still runs
                pass
        # Longest first, so a token's raw form never splits one of its encoded forms.
        for echoed in sorted(echoes or (), key=len, reverse=True):
            if echoed in text:
                text = text.replace(echoed, (echoes or {})[echoed])
        out[name] = text
    return out


def rewrite_url(url: str, replace: Replace) -> str:
    parts = urlsplit(url)
    pairs = query_pairs(url)
    if not pairs:
        return url
    return urlunsplit(parts._replace(query=_rewrite_pairs(pairs, replace)))


def rewrite_body(body: bytes | None, content_type: str, replace: Replace) -> bytes | None:
    fields = body_fields(body, content_type)
    if isinstance(fields, list):
        if not any(k.lower() in CREDENTIAL_PARAMS for k, _ in fields):
            return body
        return _rewrite_pairs(fields, replace).encode()
    if not fields:
        return body
    changed = False
    for name, value in list(fields.items()):
        if name.lower() in CREDENTIAL_PARAMS and isinstance(value, str):
            fields[name] = replace(f"param:{name.lower()}", value)
            changed = True
    return json.dumps(fields).encode() if changed else body


def _rewrite_pairs(pairs: list[tuple[str, str]], replace: Replace) -> str:
    out = [
        (k, replace(f"param:{k.lower()}", v) if k.lower() in CREDENTIAL_PARAMS else v)
        for k, v in pairs
    ]
    return urlencode(out)
