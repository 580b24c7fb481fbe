"""OAuth as TikTok answers it: v2 tokens (client, code, refresh), revocation, Business oauth2.

The v2 endpoints take form-encoded bodies and answer outside the v2 envelope, with
TikTok's own OAuth shapes; they spend no API quota, so the simulator's app limit does
not count them. There is no login page: any authorization code is accepted, and the
same code always stands for the same user.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ._data import ApiError
from ._family import Raw, request_id

# Lifetimes TikTok documents, in seconds.
ACCESS_TOKEN_SECONDS = 86_400
REFRESH_TOKEN_SECONDS = 31_536_000
CLIENT_TOKEN_SECONDS = 7_200
USER_SCOPE = "user.info.basic,video.list,video.publish,video.upload"
GRANTS = ("client_credentials", "authorization_code", "refresh_token")


@dataclass(frozen=True)
class Grant:
    """One access token the simulator issued: whose, for what, and until when."""

    access_token: str
    open_id: str
    scope: str
    expires_at: float
    refresh_token: str = ""


class OAuthError(Exception):
    """A refused OAuth request, in TikTok's OAuth error categories."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error, self.description = error, description


class OAuth:
    """Issues, refreshes and revokes tokens; tests read ``grants`` and ``revoked``."""

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self.grants: dict[str, Grant] = {}
        self.revoked: set[str] = set()
        self._refresh: dict[str, Grant] = {}
        self._serial = itertools.count(1)

    def token(self, query: Mapping[str, str], body: dict[str, Any], now: float) -> Raw:
        """POST /v2/oauth/token/ for the three grant types TikTok supports."""
        try:
            _client(body)
            grant_type = _required(body, "grant_type")
            if grant_type == "client_credentials":
                token = self._mint("clt", grant_type)
                self.grants[token] = Grant(token, "", "", now + CLIENT_TOKEN_SECONDS)
                return Raw(200, {"access_token": token, "expires_in": CLIENT_TOKEN_SECONDS,
                                 "token_type": "Bearer"})  # fmt: skip
            if grant_type == "authorization_code":
                code = _required(body, "code")
                _required(body, "redirect_uri")
                user = "-000" + hashlib.sha256(f"{self.seed}:{code}".encode()).hexdigest()[:28]
                return self._user_token(user, USER_SCOPE, now)
            if grant_type == "refresh_token":
                old = self._refresh.get(_required(body, "refresh_token"))
                if old is None:
                    raise OAuthError("invalid_grant", "The refresh token is invalid or expired.")
                return self._user_token(old.open_id, old.scope, now, old.refresh_token)
            raise OAuthError(
                "unsupported_grant_type",
                f"grant_type {grant_type!r} is not one of: {', '.join(GRANTS)}",
            )
        except OAuthError as exc:
            return self._error(exc, now)

    def revoke(self, query: Mapping[str, str], body: dict[str, Any], now: float) -> Raw:
        """POST /v2/oauth/revoke/: the token stops being valid (tests read ``revoked``)."""
        try:
            _client(body)
            token = _required(body, "token")
        except OAuthError as exc:
            return self._error(exc, now)
        self.revoked.add(token)
        return Raw(200, {})

    def business_token(self, query: Mapping[str, str], body: dict[str, Any], now: float) -> Any:
        """POST /open_api/v1.3/oauth2/access_token/: the Business API's long-lived token."""
        for name in ("app_id", "secret", "auth_code"):
            if not str(body.get(name) or "").strip():
                raise ApiError(400, "invalid_params", f"{name} is required")
        token = self._mint("act", str(body["auth_code"]))
        self.grants[token] = Grant(token, "", "", float("inf"))
        advertiser = 7_000_000_000_000_000_000 + int(token[4:16], 16) % 10**15
        return {"access_token": token, "advertiser_ids": [str(advertiser)],
                "scope": [1, 2, 3, 4]}  # fmt: skip

    def valid(self, access_token: str, now: float) -> bool:
        """Whether a token this simulator issued is still good (unknown tokens are not)."""
        grant = self.grants.get(access_token)
        return grant is not None and access_token not in self.revoked and now < grant.expires_at

    def _user_token(self, open_id: str, scope: str, now: float, refresh: str = "") -> Raw:
        token = self._mint("act", open_id)
        refresh = refresh or self._mint("rft", open_id)
        grant = Grant(token, open_id, scope, now + ACCESS_TOKEN_SECONDS, refresh)
        self.grants[token] = self._refresh[refresh] = grant
        return Raw(200, {
            "access_token": token, "expires_in": ACCESS_TOKEN_SECONDS, "open_id": open_id,
            "refresh_expires_in": REFRESH_TOKEN_SECONDS, "refresh_token": refresh,
            "scope": scope, "token_type": "Bearer",
        })  # fmt: skip

    def _mint(self, prefix: str, salt: str) -> str:
        digest = hashlib.sha256(f"{self.seed}:{salt}:{next(self._serial)}".encode()).hexdigest()
        return f"{prefix}.{digest[:40]}!{digest[40:44]}.va"

    def _error(self, exc: OAuthError, now: float) -> Raw:
        log_id = request_id(now, next(self._serial))
        return Raw(400, {"error": exc.error, "error_description": exc.description,
                         "log_id": log_id})  # fmt: skip


def _required(body: Mapping[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value.strip():
        raise OAuthError("invalid_request", f"The request is missing '{name}'.")
    return value.strip()


def _client(body: Mapping[str, Any]) -> None:
    for name in ("client_key", "client_secret"):
        value = body.get(name)
        if not isinstance(value, str) or not value.strip():
            raise OAuthError("invalid_client", f"Client authentication failed: no {name}.")
