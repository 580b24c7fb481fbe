"""The simulator's core: one request in (method, path, headers, body), one answer out."""

from __future__ import annotations

import email.utils
import itertools
import json
import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .._clock import SYSTEM_CLOCK, Clock
from .._endpoints import DEFAULT_LIMITS, SEED, Endpoint, EndpointTable, normalize_path
from ._data import ApiError, World
from ._windows import ServerRate, SlidingLog, Verdict, ceil_seconds, parse_limits

logger = logging.getLogger(__name__)

APP = "app"
RATE_LIMITED = "rate_limit_exceeded"


@dataclass(frozen=True)
class Reply:
    """The simulator's answer: status, headers and the raw body."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the simulator received it, with its arrival time on the simulator's clock."""

    method: str
    path: str
    query: Mapping[str, str]
    time: float
    json: Any
    status: int
    endpoint: str | None
    headers: Mapping[str, str]


@dataclass(frozen=True)
class RateHeaders:
    """Which rate headers the simulator sends; the real API does not always send them all."""

    limit: bool = True
    remaining: bool = True
    reset: bool = True
    retry_after: bool = True
    date: bool = True


class TikTokApp:
    """Answers like TikTok's v2 API and enforces a limit table on arrival times.

    ``limits`` is the whole table ({path: "10/minute;100/hour"}) and defaults to the
    seed's; ``app_limit`` counts every request of the app. Requests refused with a 429
    do not count; every other arrival does, even one the API then rejects as invalid.
    """

    def __init__(
        self,
        *,
        limits: Mapping[str, str] | None = None,
        app_limit: str | None = SEED.app_limit,
        clock: Clock | None = None,
        seed: int = 0,
        videos: int = 60,
        headers: RateHeaders | None = None,
        require_auth: bool = False,
    ) -> None:
        self.clock: Clock = clock if clock is not None else SYSTEM_CLOCK
        self.limits = dict(DEFAULT_LIMITS if limits is None else limits)
        self.app_limit = app_limit
        self.table = EndpointTable(Endpoint(path, spec) for path, spec in self.limits.items())
        self._rates = {e.path: parse_limits(e.limits) for e in self.table}
        self._app_rates = parse_limits(app_limit) if app_limit else ()
        self.rate_headers = headers or RateHeaders()
        self.require_auth = require_auth
        self.world = World(seed=seed, videos_count=videos, now=self.clock.now())
        self.requests: list[RecordedRequest] = []
        self._logs: dict[tuple[str, ServerRate, str], SlidingLog] = {}
        self._lock = threading.Lock()
        self._log_ids = itertools.count(1)

    def handle(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes | str | None
    ) -> Reply:
        """Answer one request; ``target`` is the path with its query string."""
        parts = urlsplit(target)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        headers = {k.title(): v for k, v in headers.items()}
        payload = _json_body(body)
        with self._lock:
            now = self.clock.now()
            endpoint = self.table.match(parts.path)
            name = endpoint.path if endpoint else None
            reply = self._answer(method.upper(), parts.path, name, query, headers, payload, now)
            self.requests.append(
                RecordedRequest(method.upper(), parts.path, query, now, payload, reply.status,
                                name, headers)
            )  # fmt: skip
        logger.debug("%s %s -> %d", method, parts.path, reply.status)
        return reply

    def _answer(
        self,
        method: str,
        path: str,
        name: str | None,
        query: Mapping[str, str],
        headers: Mapping[str, str],
        payload: Any,
        now: float,
    ) -> Reply:
        logs = self._windows_for(name, headers, payload)
        verdicts = [log.check(now) for log in logs]
        full = [v for v in verdicts if v.remaining <= 0]
        if full:
            return self._refuse(full, now)
        for log in logs:
            log.charge(now)
        # The binding window is the one with the fewest slots left after this request.
        tightest = min(verdicts, key=lambda v: v.remaining, default=None)
        rate_headers = self._rate_headers(tightest, now)
        try:
            data = self._dispatch(method, path, name, query, headers, payload, now)
        except ApiError as exc:
            return self._envelope(exc.status, {}, exc.code, exc.message, now, rate_headers)
        return self._envelope(200, data, "ok", "", now, rate_headers)

    def _dispatch(
        self,
        method: str,
        path: str,
        name: str | None,
        query: Mapping[str, str],
        headers: Mapping[str, str],
        payload: Any,
        now: float,
    ) -> Any:
        if self.require_auth and not headers.get("Authorization", "").startswith("Bearer "):
            raise ApiError(401, "access_token_invalid", "The access token is invalid or not found")
        key = name or normalize_path(path)
        try:
            handler = self.world.handler(key)
        except KeyError:
            if name is None:
                raise ApiError(404, "not_found", f"{path} is not an endpoint") from None
            return {}  # a row of the table without fake data: limits only
        allowed = ("GET", "POST") if key == "/user/info/" else ("POST",)
        if method not in allowed:
            raise ApiError(405, "invalid_params", f"{key} takes {' or '.join(allowed)}")
        if method == "POST" and not isinstance(payload, dict):
            if key != "/user/info/":
                raise ApiError(400, "invalid_params", "the body must be a JSON object")
            payload = {}
        return handler(query, payload if isinstance(payload, dict) else {}, now)

    def _windows_for(
        self, name: str | None, headers: Mapping[str, str], payload: Any
    ) -> list[SlidingLog]:
        rows: list[tuple[str, ServerRate]] = [(APP, r) for r in self._app_rates]
        if name is not None:
            rows += [(name, r) for r in self._rates[name]]
        logs = []
        for owner, rate in rows:
            who = ""
            if rate.scope == "token":
                who = headers.get("Authorization", "")
            elif rate.scope == "account" and isinstance(payload, dict):
                who = str(payload.get("business_id", ""))
            key = (owner, rate, who)
            log = self._logs.get(key)
            if log is None:
                log = self._logs[key] = SlidingLog(rate)
            logs.append(log)
        return logs

    def _refuse(self, full: list[Verdict], now: float) -> Reply:
        retry_at = max(v.resets_at for v in full)
        binding = max(full, key=lambda v: v.resets_at)
        headers = self._rate_headers(binding, now, retry_at=retry_at)
        message = f"Too many requests: the limit {binding.rate.text} is reached. Retry later."
        return self._envelope(429, {}, RATE_LIMITED, message, now, headers)

    def _rate_headers(
        self, verdict: Verdict | None, now: float, retry_at: float | None = None
    ) -> dict[str, str]:
        out: dict[str, str] = {}
        flags = self.rate_headers
        if verdict is not None:
            remaining = max(verdict.remaining - (0 if retry_at is not None else 1), 0)
            if flags.limit:
                out["X-RateLimit-Limit"] = str(verdict.rate.amount)
            if flags.remaining:
                out["X-RateLimit-Remaining"] = str(remaining)
            if flags.reset:
                out["X-RateLimit-Reset"] = str(ceil_seconds(verdict.resets_at))
        if retry_at is not None and flags.retry_after:
            out["Retry-After"] = str(max(ceil_seconds(retry_at - now), 1))
        if flags.date:
            out["Date"] = email.utils.formatdate(now, usegmt=True)
        return out

    def _envelope(
        self, status: int, data: Any, code: str, message: str, now: float, headers: dict[str, str]
    ) -> Reply:
        stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime(now))
        log_id = f"{stamp}{next(self._log_ids):012X}"
        body = {"data": data, "error": {"code": code, "message": message, "log_id": log_id}}
        out = {"Content-Type": "application/json; charset=UTF-8", **headers}
        return Reply(status, out, json.dumps(body).encode())

    # -- what tests look at -------------------------------------------------------------

    def count(self, path: str | None = None, status: int | None = None) -> int:
        """How many recorded requests match ``path`` (any form of it) and ``status``."""
        want = normalize_path(path) if path is not None else None
        with self._lock:
            return sum(
                1
                for r in self.requests
                if (want is None or (r.endpoint or normalize_path(r.path)) == want)
                and (status is None or r.status == status)
            )

    def reset(self) -> None:
        """Forget every window and recorded request; the world's data stays."""
        with self._lock:
            self._logs.clear()
            self.requests.clear()


def _json_body(body: bytes | str | None) -> Any:
    if not body:
        return None
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
