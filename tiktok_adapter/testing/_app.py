"""The simulator's core: one request in (method, path, headers, body), one answer out."""

from __future__ import annotations

import email.utils
import itertools
import json
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from ..core.clock import SYSTEM_CLOCK, Clock
from ..core.endpoints import EndpointTable, normalize_path
from ._data import ApiError, World
from ._family import Body, RateHeaders, Raw, rate_headers_of, request_id
from ._modes import resolve_mode
from ._oauth import OAuth
from ._parts import account, parse_body, token
from ._records import RecordBudgets, records_in
from ._v2 import RATE_LIMITED, TOKEN_INVALID_MESSAGE
from ._windows import ServerRate, SlidingLog, Verdict, ceil_seconds, parse_limits

logger = logging.getLogger(__name__)

APP = "app"
# app_limit's default: the preset's own app-wide limit.
PRESET = "preset"
__all__ = ["RATE_LIMITED", "RateHeaders", "RecordedRequest", "Reply", "TikTokApp"]


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
    refused: bool = False


class TikTokApp:
    """Answers like one TikTok API family and enforces a limit table on arrival times.

    ``preset`` (and ``tier``) pick the table, the app-wide limit and the family that
    answers (``api``: "v2" or "business"); the seed's v2 API unless told. ``limits``
    ({path: "10/minute;100/hour"}) is merged over the preset's table, as the adapter
    merges it, and ``app_limit`` replaces the app-wide limit. Refused requests do not
    count; every other arrival does, even one the API then rejects as invalid. The app
    limit counts what the preset says it covers (never OAuth). Per-token windows count
    each access token, and per-account windows each ``business_id``, on their own.
    ``headers`` (True, or a :class:`RateHeaders`) sends ``X-RateLimit-*`` and
    ``Retry-After``, which TikTok documents nowhere; by default only ``Date`` is sent.
    """

    def __init__(
        self,
        *,
        limits: Mapping[str, str] | None = None,
        app_limit: str | None = PRESET,
        clock: Clock | None = None,
        seed: int = 0,
        videos: int = 60,
        headers: RateHeaders | bool | None = None,
        require_auth: bool = False,
        preset: str | None = None,
        tier: str | None = None,
        api: str | None = None,
    ) -> None:
        self.mode = resolve_mode(preset, tier, api)
        self.family = self.mode.family
        self.clock: Clock = clock if clock is not None else SYSTEM_CLOCK
        rows = self.mode.endpoints(limits)
        # The effective table, preset rows merged with ``limits``: what banners show.
        self.limits = {e.path: e.limits for e in rows}
        self.app_limit = self.mode.preset.app_limit if app_limit == PRESET else app_limit
        self.table = EndpointTable(rows)
        self._rates = {e.path: parse_limits(e.limits) for e in self.table}
        self._app_rates = parse_limits(self.app_limit) if self.app_limit else ()
        # None: the family's default, which is no rate header (TikTok documents none).
        self.rate_headers = (
            self.family.default_headers if headers is None else rate_headers_of(headers)
        )
        self.require_auth = require_auth
        self.world = World(seed=seed, videos_count=videos, now=self.clock.now())
        self.oauth = OAuth(seed)  # the tokens issued, refreshed and revoked
        self.routes = self.family.routes(self.world, self.oauth)
        self.requests: list[RecordedRequest] = []
        self._logs: dict[tuple[str, ServerRate, str], SlidingLog] = {}
        # Record budgets, one log per pool (the Research API counts records too).
        self._records = RecordBudgets()
        self._lock = threading.Lock()
        self._log_ids = itertools.count(1)

    def handle(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes | str | None
    ) -> Reply:
        """Answer one request; ``target`` is the path with its query string."""
        parts = urlsplit(target)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        headers = {k.title(): v for k, v in headers.items()}
        payload = parse_body(body, headers.get("Content-Type", ""))
        with self._lock:
            now = self.clock.now()
            endpoint = self.table.match(parts.path)
            name = endpoint.path if endpoint else None
            reply, refused = self._answer(
                method.upper(), parts.path, name, query, headers, payload, now
            )
            self.requests.append(
                RecordedRequest(method.upper(), parts.path, query, now, payload, reply.status,
                                name, headers, refused)
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
    ) -> tuple[Reply, bool]:
        logs = self._windows_for(path, name, query, headers, payload)
        verdicts = [log.check(now) for log in logs]
        cost, records = self._records.logs_for(self.table.match(name) if name else None)
        spent = [v for v in (r.check(now) for r in records) if v.remaining <= 0]
        full = [v for v in verdicts if v.remaining <= 0] + spent
        if full:
            return self._refuse(full, now), True
        for log in logs:
            log.charge(now)
        if cost is not None:
            payload = self._records.within(cost, payload, records, now)
        # The binding window is the one with the fewest slots left after this request.
        tightest = min(verdicts, key=lambda v: v.remaining, default=None)
        rate_headers = self._rate_headers(tightest, now)
        rid = self._request_id(now)
        try:
            data = self._dispatch(method, path, name, query, headers, payload, now)
        except ApiError as exc:
            return self._reply(*self.family.error(exc, rid), rate_headers), False
        for log in records:
            log.charge(now, records_in(data))
        if isinstance(data, Raw):  # OAuth answers in shapes of its own
            return self._reply(data.status, data.body, rate_headers), False
        return self._reply(*self.family.success(data, rid), rate_headers), False

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
        # The path itself first: a prefixed path may match a shorter row of the table.
        key = normalize_path(path)
        route = self.routes.get(key)
        if route is None and name is not None:
            key, route = name, self.routes.get(name)
        public = route is not None and route.public
        if self.require_auth and not public and not self.family.authorized(headers):
            raise ApiError(401, "access_token_invalid", TOKEN_INVALID_MESSAGE)
        if route is None:
            if name is None:
                raise ApiError(404, "not_found", f"{path} is not an endpoint")
            return {}  # a row of the table without fake data: limits only
        if method not in route.methods:
            raise ApiError(405, "invalid_params", f"{key} takes {' or '.join(route.methods)}")
        if method == "POST" and not isinstance(payload, dict):
            if route.body_required:
                raise ApiError(400, "invalid_params", "the body must be a JSON object")
            payload = {}
        return route.handler(query, payload if isinstance(payload, dict) else {}, now)

    def _windows_for(
        self,
        path: str,
        name: str | None,
        query: Mapping[str, str],
        headers: Mapping[str, str],
        payload: Any,
    ) -> list[SlidingLog]:
        endpoint = self.table.match(name) if name is not None else None
        # TikTok counts no OAuth call, and a family's quota only its own paths.
        in_app = (endpoint is None or endpoint.counts_toward_app) and self.mode.preset.app_counts(
            path
        )
        rows: list[tuple[str, ServerRate]] = [(APP, r) for r in self._app_rates] if in_app else []
        if name is not None:
            rows += [(name, r) for r in self._rates[name]]
        logs = []
        for owner, rate in rows:
            who = ""
            if rate.scope == "token":
                who = token(query, headers, payload)
            elif rate.scope == "account":
                who = account(query, payload)
            key = (owner, rate, who)
            log = self._logs.get(key)
            if log is None:
                log = self._logs[key] = SlidingLog(rate)
            logs.append(log)
        return logs

    def record_count(self, pool: str) -> int:
        """Records the pool has served in its current period (the Research API's budget)."""
        with self._lock:
            return self._records.count(pool, self.clock.now())

    def _refuse(self, full: list[Verdict], now: float) -> Reply:
        retry_at = max(v.resets_at for v in full)
        binding = max(full, key=lambda v: v.resets_at)
        headers = self._rate_headers(binding, now, retry_at=retry_at)
        spent = [v.rate for v in sorted(full, key=lambda v: v.resets_at, reverse=True)]
        status, body = self.family.refusal(spent, self._request_id(now))
        return self._reply(status, body, headers)

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

    def _request_id(self, now: float) -> str:
        return request_id(now, next(self._log_ids))

    def _reply(self, status: int, body: Body, headers: dict[str, str]) -> Reply:
        out = {"Content-Type": "application/json; charset=UTF-8", **headers}
        return Reply(status, out, json.dumps(body).encode())

    # -- what tests look at -------------------------------------------------------------

    def count(
        self, path: str | None = None, status: int | None = None, *, refused: bool | None = None
    ) -> int:
        """How many recorded requests match ``path`` (any form of it), ``status`` and ``refused``.

        ``refused=True`` counts rate-limit refusals in any family's shape (a 429, or
        a Business API 200 with code 40100).
        """
        want = normalize_path(path) if path is not None else None
        with self._lock:
            return sum(
                1
                for r in self.requests
                if (want is None or (r.endpoint or normalize_path(r.path)) == want)
                and (status is None or r.status == status)
                and (refused is None or r.refused == refused)
            )

    def reset(self) -> None:
        """Forget every window and recorded request; the world's data stays."""
        with self._lock:
            self._logs.clear()
            self._records.clear()
            self.requests.clear()
