"""The demo: a moderation bot on several threads against the simulator, at a scaled time."""

from __future__ import annotations

import functools
import itertools
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests

from ._endpoints import DEFAULT_LIMITS, SEED
from ._events import Event
from .adapter import TikTokAdapter, mount
from .helpers import api_call, paginate, query_videos
from .testing._app import TikTokApp
from .testing._windows import parse_limits
from .testing.clock import ScaledClock
from .testing.server import SimulatorServer

logger = logging.getLogger(__name__)

# Loopback jitter (a thread not scheduled, a slow accept) is real time; scaled, 50 ms of it
# becomes seconds, so the adapter's safety margin must scale with the clock.
JITTER_REAL = 0.05
MAX_VIDEOS = 90  # past this, comment listing needs more than the seed's 100 an hour
# Caps that keep each write endpoint inside its hourly allowance, so the demo never
# parks a worker for a simulated hour.
MAX_PINS = 20
MAX_REPLIES = 20
MAX_DELETES = 90
VIDEO_FIELDS = ("id", "title", "create_time", "comment_count")
SPAM_MARKERS = ("free", "bit.ly", "$", "giveaway", "dm me", "coins")
ENDPOINTS = tuple(DEFAULT_LIMITS)
# Moderation runs before more reading: it is what the bot is for.
_ACTION, _READ, _STOP = 0, 1, 9


@dataclass(frozen=True)
class EndpointRow:
    """One endpoint's numbers, live or final."""

    endpoint: str
    sent: int
    waiting: int
    waited: int
    wait_seconds: float
    rate_limited: int
    failed: int
    ideal: float = 0.0


@dataclass(frozen=True)
class DemoReport:
    """What the demo did, in simulated seconds unless named real."""

    rows: tuple[EndpointRow, ...]
    makespan: float
    ideal: float
    real_seconds: float
    time_scale: float
    finished: bool
    errors: tuple[str, ...]

    @property
    def rate_limited(self) -> int:
        return sum(r.rate_limited for r in self.rows)

    @property
    def failed(self) -> int:
        return sum(r.failed for r in self.rows)

    @property
    def ok(self) -> bool:
        """No call ended in a 429 or an error: the adapter recovered from any refusal."""
        return self.finished and self.failed == 0


def ideal_span(count: int, limits: str | None) -> float:
    """The earliest moment, from an empty window, at which the table admits ``count`` requests."""
    if count < 1 or not limits:
        return 0.0
    return max((count - 1) // r.amount * r.period for r in parse_limits(limits))


class _Bot:
    """The moderation workload as tasks on a priority queue served by worker threads."""

    def __init__(self, session: requests.Session, base_url: str, seed: int) -> None:
        self.session, self.base_url, self.seed = session, base_url, seed
        self.tasks: queue.PriorityQueue[tuple[int, int, str, Callable[[], None] | None]] = (
            queue.PriorityQueue()
        )
        self._order = itertools.count()
        self._lock = threading.Lock()
        self.failed: dict[str, int] = dict.fromkeys(ENDPOINTS, 0)
        self.errors: list[str] = []
        self.waiting: dict[int, str] = {}
        self.pins = self.replies = self.deletes = 0

    def submit(self, priority: int, endpoint: str, job: Callable[[], None] | None) -> None:
        self.tasks.put((priority, next(self._order), endpoint, job))

    def stop(self, workers: int) -> None:
        """Drop the work not yet started (after a timeout) and let every worker end."""
        while True:
            try:
                self.tasks.get_nowait()
            except queue.Empty:
                break
            self.tasks.task_done()
        for _ in range(workers):
            self.submit(_STOP, "", None)

    def work(self) -> None:
        while True:
            _, _, endpoint, job = self.tasks.get()
            if job is None:
                self.tasks.task_done()
                return
            try:
                job()
            except Exception as exc:  # the summary reports it; the other workers go on
                with self._lock:
                    self.failed[endpoint] += 1
                    self.errors.append(f"{endpoint}: {exc}")
                logger.debug("demo task failed", exc_info=True)
            finally:
                self._not_waiting()
                self.tasks.task_done()

    def on_wait(self, event: Event) -> None:
        with self._lock:
            self.waiting[threading.get_ident()] = event.endpoint

    def on_response(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self._not_waiting()

    def _not_waiting(self) -> None:
        with self._lock:
            self.waiting.pop(threading.get_ident(), None)

    def waiting_now(self) -> list[str]:
        """The endpoint each worker is waiting for right now."""
        with self._lock:
            return list(self.waiting.values())

    # -- the workload -------------------------------------------------------------------

    def start(self) -> None:
        self.submit(_READ, "/user/info/", self.read_account)

    def read_account(self) -> None:
        api_call(self.session, "/v2/user/info/", {}, ("open_id", "display_name"),
                 base_url=self.base_url)  # fmt: skip
        ids = [
            str(v["id"])
            for v in paginate(self.session, "/v2/video/list/", {"max_count": 20}, ("id",),
                              base_url=self.base_url, items="videos")
        ]  # fmt: skip
        for start in range(0, len(ids), 20):
            batch = ids[start : start + 20]
            self.submit(_READ, "/video/query/", functools.partial(self.query, batch))

    def query(self, batch: list[str]) -> None:
        result = query_videos(self.session, batch, VIDEO_FIELDS, base_url=self.base_url)
        for video in result.videos:
            if video.get("comment_count"):
                vid = str(video["id"])
                job = functools.partial(self.moderate, vid)
                self.submit(_READ, "/video/comment/list/", job)

    def moderate(self, video_id: str) -> None:
        comments = list(
            paginate(self.session, "/v2/video/comment/list/",
                     {"video_id": video_id, "max_count": 50}, base_url=self.base_url,
                     items="comments")
        )  # fmt: skip
        spam = [c for c in comments if any(m in c["text"].lower() for m in SPAM_MARKERS)]
        kept = [c for c in comments if c not in spam and c.get("parent_comment_id") is None]
        with self._lock:
            spam = spam[: max(MAX_DELETES - self.deletes, 0)]
            self.deletes += len(spam)
            pin = len(kept) >= 3 and not any(c["pinned"] for c in kept) and self.pins < MAX_PINS
            self.pins += pin
            question = next((c for c in kept if "?" in c["text"]), None)
            reply = question is not None and self.replies < MAX_REPLIES
            self.replies += reply
        for comment in spam:
            body = {"video_id": video_id, "comment_id": comment["id"]}
            self._action("/video/comment/delete/", body)
        if pin:
            best = max(kept, key=lambda c: c["like_count"])
            body = {"video_id": video_id, "comment_id": best["id"], "action": "PIN"}
            self._action("/video/comment/pin/", body)
        if reply and question is not None:
            body = {"video_id": video_id, "parent_comment_id": question["id"],
                    "text": "Thanks for asking! Details in the description."}  # fmt: skip
            self._action("/video/comment/create/", body)

    def _action(self, endpoint: str, body: dict[str, Any]) -> None:
        def job() -> None:
            api_call(self.session, "/v2" + endpoint, body, base_url=self.base_url)

        self.submit(_ACTION, endpoint, job)


def run_demo(
    *,
    time_scale: float = 60.0,
    workers: int = 4,
    seed: int = 0,
    videos: int = 60,
    on_tick: Callable[[DemoReport], None] | None = None,
    tick: float = 0.2,
    timeout: float = 55.0,
) -> DemoReport:
    """Run the bot against an in-process simulator; ``on_tick`` sees live numbers."""
    if not 1 <= videos <= MAX_VIDEOS:
        raise ValueError(f"videos={videos!r} must be 1 to {MAX_VIDEOS}")
    if workers < 1:
        raise ValueError(f"workers={workers!r} must be 1 or more")
    clock = ScaledClock(time_scale)
    app = TikTokApp(clock=clock, seed=seed, videos=videos)
    with SimulatorServer(app) as server, requests.Session() as session:
        adapter = mount(
            session, base_url=server.url, clock=clock,
            safety_margin=max(0.05, JITTER_REAL * time_scale),
            # The demo is the only client of its account, so it may use every slot.
            default_priority="critical", pool_maxsize=max(workers, 10),
        )  # fmt: skip
        bot = _Bot(session, server.url, seed)
        adapter.add_hook("on_wait", bot.on_wait)
        session.hooks["response"].append(bot.on_response)
        for n in range(workers):
            threading.Thread(target=bot.work, name=f"demo-worker-{n}", daemon=True).start()
        real_start, sim_start = time.monotonic(), clock.now()
        bot.start()
        done = threading.Event()

        def watch() -> None:
            bot.tasks.join()
            done.set()

        threading.Thread(target=watch, daemon=True).start()
        deadline = real_start + timeout
        while not done.wait(tick) and time.monotonic() < deadline:
            if on_tick is not None:
                on_tick(_report(adapter, app, bot, clock.now() - sim_start, real_start,
                                time_scale, finished=False))  # fmt: skip
        report = _report(adapter, app, bot, _last_arrival(app, sim_start), real_start,
                         time_scale, finished=done.is_set())  # fmt: skip
        bot.stop(workers)
        adapter.close()
    return report


def _last_arrival(app: TikTokApp, start: float) -> float:
    return max((r.time for r in app.requests), default=start) - start


def _report(
    adapter: TikTokAdapter,
    app: TikTokApp,
    bot: _Bot,
    elapsed: float,
    real_start: float,
    time_scale: float,
    *,
    finished: bool,
) -> DemoReport:
    stats = adapter.stats().endpoints
    waiting = bot.waiting_now()
    rows = []
    for name in ENDPOINTS:
        s = stats.get(name)
        accepted = app.count(name) - app.count(name, 429)
        rows.append(
            EndpointRow(
                endpoint=name, sent=s.sent if s else 0, waiting=waiting.count(name),
                waited=s.waited if s else 0, wait_seconds=s.wait_seconds if s else 0.0,
                rate_limited=app.count(name, 429), failed=bot.failed[name],
                ideal=ideal_span(accepted, DEFAULT_LIMITS[name]),
            )
        )  # fmt: skip
    total = sum(1 for r in app.requests if r.status != 429)
    ideal = max([ideal_span(total, SEED.app_limit), *(r.ideal for r in rows)])
    return DemoReport(
        rows=tuple(rows), makespan=elapsed, ideal=ideal,
        real_seconds=time.monotonic() - real_start, time_scale=time_scale,
        finished=finished,
        errors=tuple(bot.errors) + (() if finished else ("the workload did not finish in time",)),
    )  # fmt: skip
