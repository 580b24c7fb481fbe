"""The demo: a moderation bot on several threads against the simulator, at a scaled time."""

from __future__ import annotations

import functools
import itertools
import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

import requests

from .._requests.mounting import mount
from ..adapter import TikTokAdapter
from ..core.endpoints import DEFAULT_LIMITS, SEED
from ..core.events import Event
from ..pagination import api_call, paginate, query_videos
from ..settings import DEFAULT_SAFETY_MARGIN
from ..testing import TikTokApp
from ..testing.clock import ScaledClock
from ..testing.server import SimulatorServer
from .demo_latency import measure_latency
from .demo_report import (
    Arrival,
    DemoReport,
    EndpointRow,
    IdealModel,
    endpoint_ideal,
    ideal_span,
    overall_ideal,
)

__all__ = ["Arrival", "DemoReport", "EndpointRow", "IdealModel", "ideal_span", "run_demo"]

logger = logging.getLogger(__name__)

# Loopback jitter (a thread not scheduled, a slow accept) is real time; scaled, 50 ms of it
# becomes seconds, so the adapter's safety margin must scale with the clock.
JITTER_REAL = 0.05
# The largest safety_margin the settings accept (a minute). Past x1200 the demo's margin
# stops growing, so it tolerates less real jitter; a 429 that slips through is recovered.
MAX_MARGIN = 60.0
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


class _Bot:
    """The moderation workload as tasks on a priority queue served by worker threads."""

    def __init__(
        self, session: requests.Session, base_url: str, seed: int, clock: ScaledClock
    ) -> None:
        self.session, self.base_url, self.seed, self.clock = session, base_url, seed, clock
        # When each task became known (simulated): no limiter could send it earlier.
        self.released: dict[str, list[float]] = {name: [] for name in ENDPOINTS}
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
        if job is not None:
            with self._lock:
                self.released[endpoint].append(self.clock.now())
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

    def released_at(self, endpoint: str) -> list[float]:
        with self._lock:
            return sorted(self.released[endpoint])

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
    margin = min(max(DEFAULT_SAFETY_MARGIN, JITTER_REAL * time_scale), MAX_MARGIN)
    model = IdealModel(
        margin=margin - DEFAULT_SAFETY_MARGIN,
        latency=measure_latency(workers) * time_scale,
    )
    clock = ScaledClock(time_scale)
    app = TikTokApp(clock=clock, seed=seed, videos=videos)
    with SimulatorServer(app) as server, requests.Session() as session:
        adapter = mount(
            session, base_url=server.url, clock=clock, safety_margin=margin,
            # The demo is the only client of its account, so it may use every slot.
            default_priority="critical", pool_maxsize=max(workers, 10),
        )  # fmt: skip
        bot = _Bot(session, server.url, seed, clock)
        adapter.add_hook("on_wait", bot.on_wait)
        session.hooks["response"].append(bot.on_response)
        for n in range(workers):
            threading.Thread(target=bot.work, name=f"demo-worker-{n}", daemon=True).start()
        run = _Run(adapter, app, bot, model, time.monotonic(), clock.now(), time_scale)
        bot.start()
        done = threading.Event()

        def watch() -> None:
            bot.tasks.join()
            done.set()

        threading.Thread(target=watch, daemon=True).start()
        deadline = run.real_start + timeout
        while not done.wait(tick) and time.monotonic() < deadline:
            if on_tick is not None:
                on_tick(run.report(clock.now() - run.sim_start, finished=False))
        report = run.report(None, finished=done.is_set())
        bot.stop(workers)
        adapter.close()
    return report


class _Run:
    """One demo run's parts, turned into a :class:`DemoReport` live or at the end."""

    def __init__(
        self,
        adapter: TikTokAdapter,
        app: TikTokApp,
        bot: _Bot,
        model: IdealModel,
        real_start: float,
        sim_start: float,
        time_scale: float,
    ) -> None:
        self.adapter, self.app, self.bot, self.model = adapter, app, bot, model
        self.real_start, self.sim_start, self.time_scale = real_start, sim_start, time_scale

    def report(self, elapsed: float | None, *, finished: bool) -> DemoReport:
        """Live numbers when ``elapsed`` is given; else the final report, up to the last arrival."""
        final = elapsed is None
        arrivals = self.arrivals() if final else ()
        if elapsed is None:
            elapsed = max((a.time for a in arrivals), default=0.0)
        stats = self.adapter.stats().endpoints
        waiting = self.bot.waiting_now()
        rows, ideals = [], {}
        for name in ENDPOINTS:
            s = stats.get(name)
            times = [a.time for a in arrivals if a.endpoint == name and not a.refused]
            released = [t - self.sim_start for t in self.bot.released_at(name)]
            ideals[name] = endpoint_ideal(released, times, DEFAULT_LIMITS[name], self.model)
            rows.append(
                EndpointRow(
                    endpoint=name, sent=s.sent if s else 0, waiting=waiting.count(name),
                    waited=s.waited if s else 0, wait_seconds=s.wait_seconds if s else 0.0,
                    rate_limited=self.app.count(name, 429), failed=self.bot.failed[name],
                    ideal=ideals[name],
                )
            )  # fmt: skip
        accepted = sum(1 for a in arrivals if not a.refused)
        ideal = overall_ideal(accepted, SEED.app_limit, ideals, self.model) if final else 0.0
        unfinished = () if finished else ("the workload did not finish in time",)
        return DemoReport(
            rows=tuple(rows), makespan=elapsed, ideal=ideal,
            real_seconds=time.monotonic() - self.real_start, time_scale=self.time_scale,
            finished=finished, errors=tuple(self.bot.errors) + unfinished,
            arrivals=arrivals, limits=DEFAULT_LIMITS, app_limit=SEED.app_limit,
            model=self.model,
        )  # fmt: skip

    def arrivals(self) -> tuple[Arrival, ...]:
        return tuple(
            Arrival(r.endpoint or "(other)", r.time - self.sim_start, r.status == 429)
            for r in self.app.requests
        )
