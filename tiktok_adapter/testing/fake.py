"""FakeTikTok: the simulator bound into `responses`, for tests that never touch the network."""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..core.clock import Clock
from ..exceptions import MissingDependency
from ._app import PRESET, RateHeaders, RecordedRequest, TikTokApp
from ._data import Comment, ModerationAction
from ._live import LiveClock
from ._oauth import OAuth
from ._upload import UPLOAD_HOST, upload_target

if TYPE_CHECKING:
    import requests
    import responses

DEFAULT_BASE_URL = "https://open.tiktokapis.com"
_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
INSTALL_HINT = "pip install 'tiktok-adapter[testing]'"
# Marks the fake's own registrations, so that fakes sharing one mock skip each other.
_FAKE_MARK = "_tiktok_adapter_fake"


class FakeTikTok:
    """A simulated TikTok API under ``base_url``: real limits, refusals, envelopes and data.

    It counts arrivals on its own ``clock``. Unless given one, that is real time (the
    system clock's), which an adapter on its own clock agrees with, as in the
    Quickstart's ``mount(session)``; an adapter that shares it waits by moving it
    forward at once (every sleep on it is added to real time, and kept in
    ``fake.clock.sleeps``), so hours of windows run in milliseconds::

        with FakeTikTok() as fake, requests.Session() as session:
            mount(session, **fake.adapter_options())   # shares fake.clock
            session.post(".../v2/video/query/?fields=id", json={...})

    Pass ``clock=FakeClock()`` for time that moves only when told.

    Pass ``mock`` to register on a :class:`responses.RequestsMock` you already run;
    otherwise the fake starts one of its own. Responses of your own on that mock,
    added before or after the fake starts, answer the requests they match, even under
    the fake's base URL; the fake answers every other request. ``rate_headers=True``
    (or a :class:`RateHeaders` naming some) sends ``X-RateLimit-Limit``,
    ``-Remaining``, ``-Reset`` and ``Retry-After``; TikTok documents none of them, so
    by default the fake sends only ``Date``. ``limits`` is merged over the preset's
    table, as the adapter merges it.

    ``preset`` (with ``tier``) runs another limit table and answers in its family's
    shape: ``FakeTikTok(preset="business")`` serves the TikTok API for Business (the
    accounts API and the Marketing API) under ``https://business-api.tiktok.com/open_api/
    v1.3/`` and refuses with code 40100; ``api`` names the family outright ("v2" or
    "business"). OAuth (``/v2/oauth/token/``, ``/v2/oauth/revoke/``) is served and never
    limited; ``oauth`` shows the tokens issued.
    """

    def __init__(
        self,
        *,
        limits: Mapping[str, str] | None = None,
        app_limit: str | None = PRESET,
        clock: Clock | None = None,
        base_url: str | None = None,
        seed: int = 0,
        videos: int = 60,
        rate_headers: RateHeaders | bool | None = None,
        require_auth: bool = False,
        mock: responses.RequestsMock | None = None,
        preset: str | None = None,
        tier: str | None = None,
        api: str | None = None,
    ) -> None:
        self.clock: Clock = clock if clock is not None else LiveClock()
        self.app = TikTokApp(
            limits=limits, app_limit=app_limit, clock=self.clock, seed=seed, videos=videos,
            headers=rate_headers, require_auth=require_auth, preset=preset, tier=tier, api=api,
        )  # fmt: skip
        if base_url is None:
            base_url = self.app.mode.preset.base_url.rstrip("/")
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(
                f"base_url={base_url!r} must be an http(s) URL such as {DEFAULT_BASE_URL}"
            )
        self.base_url = f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"
        self._prefix = parts.path.rstrip("/")
        self._own_mock = mock is None
        self._mock = mock
        self._started = False
        self._registered: list[Any] = []

    # -- lifecycle ----------------------------------------------------------------------

    @property
    def mock(self) -> responses.RequestsMock:
        """The RequestsMock the fake answers through; add other responses to it freely."""
        if self._mock is None:
            try:
                import responses
            except ImportError:
                # One line naming the extra, instead of a bare "No module named 'responses'".
                raise MissingDependency(
                    f"FakeTikTok needs the 'responses' package, the 'testing' extra: {INSTALL_HINT}"
                ) from None
            self._mock = responses.RequestsMock(assert_all_requests_are_fired=False)
        return self._mock

    def start(self) -> FakeTikTok:
        if self._started:
            return self
        mock = self.mock
        pattern = re.compile(re.escape(self.base_url) + r"(?:/.*)?$")
        from responses import CallbackResponse  # importable: self.mock made one

        hosts = [(pattern, self._callback)]
        if self.app.mode.api == "v2":  # Content Posting's chunk PUTs go to their own host
            upload = re.compile(re.escape(f"https://{UPLOAD_HOST}") + r"(?:/.*)?$")
            hosts.append((upload, self._upload_callback))
        for (url, callback), method in itertools.product(hosts, _METHODS):
            # Built here and added, because add_callback returns None before responses 0.24.
            added = CallbackResponse(method, url, callback=callback, match=[self._unclaimed])
            setattr(added, _FAKE_MARK, True)
            mock.add(added)
            self._registered.append(added)
        if self._own_mock:
            mock.start()
        self._started = True
        return self

    def stop(self) -> None:
        if self._started and self._mock is not None:
            if self._own_mock:
                self._mock.stop()
                self._mock.reset()
            else:  # a shared mock goes on without us
                ours = {id(r) for r in self._registered}
                registered = self._mock.registered()
                registered[:] = [r for r in registered if id(r) not in ours]
        self._registered.clear()
        self._started = False

    def __enter__(self) -> FakeTikTok:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _unclaimed(self, request: requests.PreparedRequest) -> tuple[bool, str]:
        """A `responses` matcher: the fake answers only what no response of the user's matches.

        With two matches, `responses` would pop one of them for good; declining here
        leaves a user's response the only match, and the fake's registration in place.
        """
        for other in self.mock.registered():
            if getattr(other, _FAKE_MARK, False):
                continue
            if other.matches(request)[0]:
                return False, "a response added to the mock answers this request"
        return True, ""

    def _callback(self, request: requests.PreparedRequest) -> tuple[int, dict[str, str], bytes]:
        parts = urlsplit(request.url or "")
        path = parts.path[len(self._prefix) :] if self._prefix else parts.path
        target = path + (f"?{parts.query}" if parts.query else "")
        body = request.body
        if body is not None and not isinstance(body, (bytes, str)):
            body = b"".join(body)  # a generator body: responses hands it over unread
        reply = self.app.handle(request.method or "GET", target, dict(request.headers), body)
        return reply.status, reply.headers, reply.body

    def _upload_callback(
        self, request: requests.PreparedRequest
    ) -> tuple[int, dict[str, str], bytes]:
        body = request.body
        if body is not None and not isinstance(body, (bytes, str)):
            body = b"".join(body)
        target = upload_target(urlsplit(request.url or "").query, dict(request.headers), body)
        reply = self.app.handle(request.method or "PUT", target, dict(request.headers), None)
        return reply.status, reply.headers, reply.body

    # -- what tests look at -------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received, in arrival order, with status and time on the clock."""
        return list(self.app.requests)

    def count(
        self, path: str | None = None, status: int | None = None, *, refused: bool | None = None
    ) -> int:
        """Requests received, for one endpoint (``"/video/query/"``), one status, or refused."""
        return self.app.count(path, status, refused=refused)

    @property
    def rate_limited(self) -> int:
        """How many requests were refused by a limit (a 429, or a 200 with code 40100)."""
        return self.app.count(refused=True)

    @property
    def videos(self) -> list[dict[str, Any]]:
        """The account's videos, newest first (every field)."""
        return self.app.world.videos

    @property
    def user(self) -> dict[str, Any]:
        return self.app.world.user

    def comments(self, video_id: str, *, include_deleted: bool = False) -> list[Comment]:
        """The comments of one video as they stand now."""
        world = self.app.world
        if include_deleted:
            return list(world.comments_of(video_id))
        return world.live_comments(video_id)

    def comment(self, comment_id: str) -> Comment:
        return self.app.world.comments[comment_id]

    @property
    def oauth(self) -> OAuth:
        """The OAuth state: ``grants`` (access token -> Grant) and ``revoked`` tokens."""
        return self.app.oauth

    @property
    def actions(self) -> list[ModerationAction]:
        """Comments created, deleted, pinned, hidden, liked (and undone) through the API."""
        return list(self.app.world.actions)

    def adapter_options(self) -> dict[str, Any]:
        """Keywords for ``mount``/``TikTokAdapter`` that match this fake's table and clock."""
        mode = self.app.mode
        options: dict[str, Any] = {
            "base_url": self.base_url + "/",
            "clock": self.clock,
            "preset": mode.preset_name,
            "limits": dict(self.app.limits),
            "app_limit": self.app.app_limit,
        }
        if mode.tier is not None:
            options["tier"] = mode.tier
        return options

    def reset(self) -> None:
        """Forget the windows and recorded requests (the data stays)."""
        self.app.reset()
