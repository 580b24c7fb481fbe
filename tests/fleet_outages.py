"""The fleet through an outage of its shared store: the scenarios of issue #23, measured.

One run: a topology of real redis-servers of our own, the loopback server enforcing the
limit, and the fleet of ``failover_fleet`` calling it through adapters on default settings.
After a warm-up on the store, its master fails (SIGKILL, or SIGSTOP and SIGCONT later) and
a replica is promoted, or a plain redis-server stops and starts again empty on its port.
``measure`` turns a run into the numbers the tests assert and the benchmark reports.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import failover_fleet as ff
from redis_topologies import Cluster, PlainRedis, SentinelSet, client, need_redis_server

START = 4.0  # for 4 interpreters to start and import
WARM_UP = 3.0  # before the failure: every process on the store, windows shared
AFTER = 5.0  # on the store again after the way back: the replay, the fleet settling
# How long a silent master goes unnoticed (Sentinel's down-after-milliseconds, Cluster's
# node timeout): with 1 s a switch takes about 2 s, too short an outage to hold a window
# that starts one period after it began; 3.5 s makes it about 5 s.
DETECT_MS = 3500


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    topology: Literal["sentinel", "cluster", "plain"]
    how: Literal["kill", "freeze"]
    down_for: float  # how long a frozen or stopped server stays so; 0: until promoted
    run: float  # how long the fleet calls

    @property
    def failure(self) -> str:
        if self.topology == "plain":
            return f"stopped (SIGKILL) for {self.down_for:g} s, restarted empty"
        if self.how == "freeze":
            return f"master frozen (SIGSTOP) for {self.down_for:g} s, then SIGCONT"
        return "master killed (SIGKILL)"


SCENARIOS = {
    s.name: s
    for s in (
        Scenario("sentinel-kill", "Redis Sentinel", "sentinel", "kill", 0.0, WARM_UP + 7 + AFTER),
        Scenario(
            "sentinel-freeze", "Redis Sentinel", "sentinel", "freeze", 8.0, WARM_UP + 8 + AFTER
        ),
        Scenario("cluster-kill", "Redis Cluster", "cluster", "kill", 0.0, WARM_UP + 8 + AFTER),
        Scenario("plain-restart", "plain Redis", "plain", "kill", 10.0, WARM_UP + 10 + AFTER),
    )
}


@dataclass(frozen=True)
class Run:
    scenario: Scenario
    mode: str
    reports: list[ff.Report]
    arrivals: list[ff.Arrival]
    failed_at: float
    back_at: float  # the replica promoted, or the server started again
    windows_before: bool  # window keys on the serving master before the failure
    windows_after: bool  # ... and on the one serving after it, stamped after back_at


def _stamps(port: int, prefix: str, cluster: Cluster | None) -> Callable[[], list[float]]:
    """The admission stamps (Redis's wall clock) of the prefix's windows on one server."""

    def read() -> list[float]:
        keys = (cluster.keys_on(port, f"{{{prefix}}}:w:*") if cluster is not None
                else list(client(port).scan_iter(match=f"{{{prefix}}}:w:*")))  # fmt: skip
        found = []
        for key in keys:
            if client(port).type(key) == "list":  # a calendar window is a counter
                found += [float(s) for s in client(port).lrange(key, 0, -1)]
        return found

    return read


def run(scenario: Scenario, mode: str = "fallback", settings: dict[str, Any] | None = None) -> Run:
    """One run of ``scenario``; ``settings`` beyond on_storage_error stay the defaults."""
    need_redis_server()
    prefix = f"outage-{scenario.name}-{uuid.uuid4().hex[:8]}"
    topology: Any = (
        SentinelSet(DETECT_MS) if scenario.topology == "sentinel"
        else Cluster(DETECT_MS) if scenario.topology == "cluster"
        else PlainRedis()
    )  # fmt: skip
    cluster = topology if isinstance(topology, Cluster) else None
    options = {"on_storage_error": mode, **(settings or {})}
    with topology, ff.LimitServer().serving() as server:
        topology.up()
        if isinstance(topology, SentinelSet):
            master, successor = topology.master, topology.replica
        elif cluster is not None:
            slot = cluster.slot_of("{" + prefix + "}")
            master, replica = cluster.owner(slot)
            assert replica is not None
            successor = replica
        else:
            master = successor = topology.port
        start = time.monotonic() + START
        stop = start + scenario.run
        fleet = ff.run_fleet(topology.uri, prefix, server.url, start, stop, options)
        before = admitted_through(_stamps(master, prefix, cluster), start, start + WARM_UP)
        time.sleep(max(0.0, start + WARM_UP - time.monotonic()))
        failed = time.monotonic()
        if scenario.how == "freeze":
            topology.freeze(master)
        else:
            topology.kill(master)
        if isinstance(topology, SentinelSet):
            back = topology.wait_promoted()
        elif cluster is not None:
            back = cluster.wait_promoted(slot, successor)
        else:
            time.sleep(max(0.0, failed + scenario.down_for - time.monotonic()))
            back = topology.restart()
        if scenario.how == "freeze":
            time.sleep(max(0.0, failed + scenario.down_for - time.monotonic()))
            topology.thaw(master)
        after = admitted_through(_stamps(successor, prefix, cluster), back, stop)
        reports = fleet.result(timeout=scenario.run + 90)
        arrivals = list(server.arrivals)
    return Run(scenario, mode, reports, arrivals, failed, back, before, after)


def measure(r: Run) -> dict[str, Any]:
    """The numbers of a run, for the tests' asserts and the benchmark's table."""
    calls = [c for report in r.reports for c in report.calls]
    outcomes = Counter(c.outcome for c in calls)
    ok_arrivals = sum(1 for a in r.arrivals if a.status == 200)
    at_once = [c for c in calls if not c.queued]
    share = ff.LIMIT // ff.PROCESSES
    kept: dict[int, int | None] = {}
    outage: dict[int, float] = {}
    unsettled: dict[int, float] = {}
    fleet_sizes: set[int] = set()
    length = ff.PERIOD + ff.MARGIN + ff.LATE
    for report in r.reports:
        fleet_sizes |= {
            h.fleet_size for h in report.health if h.at > r.failed_at and not h.answering
        }
        mine = [a.at for a in r.arrivals if a.worker == report.worker]
        # The promise holds while the store cannot be reached (answering False). Once it
        # answers, the process stays degraded until every member is heard from again, but
        # the store counts for the fleet then: others may take the window, and the fleet
        # stays within the limit.
        spans = [s for s in report.out_spans() if s[1] > r.failed_at]
        outage[report.worker] = max((end - began for began, end in spans), default=0.0)
        degraded = [s for s in report.degraded_spans() if s[1] > r.failed_at]
        unsettled[report.worker] = degraded[-1][1] - spans[-1][1] if spans and degraded else 0.0
        # A window that has turned over since the outage began holds the whole share; in
        # each span out (a frozen master may come back before it is demoted), the fewest.
        found = [
            fewest_in_a_window(mine, length, began + ff.PERIOD + ff.MARGIN, end)
            for began, end in spans
        ]
        counts = [k for k in found if k is not None]
        kept[report.worker] = min(counts) if counts else None
    return {
        "scenario": r.scenario.name,
        "topology": r.scenario.title,
        "failure": r.scenario.failure,
        "mode": r.mode,
        "back_s": r.back_at - r.failed_at,
        "calls": len(calls),
        "outcomes": dict(outcomes),
        # A call that ended neither in a response nor in an exception of the package.
        "lost": sum(1 for c in calls if c.outcome != "ok" and not c.in_package),
        "responses": outcomes["ok"],
        "arrivals_200": ok_arrivals,
        "http_429": sum(1 for a in r.arrivals if a.status == 429),
        "calls_at_once": len(at_once),
        "longest_at_once_s": max((c.seconds for c in at_once), default=0.0),
        "longest_store_call_s": max(report.longest_store_call for report in r.reports),
        "windows_before": r.windows_before,
        "windows_after": r.windows_after,
        "share": share,
        "kept": kept,  # the fewest a process sent in a window during its outage, or None
        "outage_s": outage,  # the longest the store did not answer, per process
        "unsettled_s": unsettled,  # from the store answering to the fleet settled
        "fleet_sizes": sorted(fleet_sizes),
        "fleet_most_per_window": most_in_a_window([a.at for a in r.arrivals], ff.PERIOD),
    }


def most_in_a_window(stamps: list[float], period: float, since: float = float("-inf"),
                     until: float = float("inf")) -> int:  # fmt: skip
    """The most stamps in any window [t, t + period) that starts at or after ``since`` and
    ends by ``until``; windows start at a stamp, where the most can begin."""
    stamps = sorted(stamps)
    most, hi = 0, 0
    for lo, t in enumerate(stamps):
        if t < since or t + period > until:
            continue
        hi = max(hi, lo)
        while hi < len(stamps) and stamps[hi] < t + period:
            hi += 1
        most = max(most, hi - lo)
    return most


def fewest_in_a_window(
    stamps: list[float], length: float, since: float, until: float
) -> int | None:
    """The fewest stamps in any window [t, t + length) within [since, until], or None when
    no window fits. The fewest is found in a window that starts just after a stamp (or at
    ``since``) and so holds as few as possible."""
    if until - since < length:
        return None
    starts = [since] + [t for t in stamps if since < t <= until - length]
    inside = sorted(t for t in stamps if since <= t < until)
    fewest = len(inside)
    for start in starts:
        # Just after a stamp: that stamp is out of the window.
        count = sum(1 for t in inside if start < t < start + length or t == start == since)
        fewest = min(fewest, count)
    return fewest


def admitted_through(stamps_of: Callable[[], list[float]], since: float, until: float) -> bool:
    """Whether a server holds an admission stamped after ``since`` (a monotonic moment),
    looked for while the fleet still runs, until ``until``: a window's list expires a
    period after its last admission, so once the fleet has stopped it may be gone before
    anyone reads it."""
    after = time.time() - (time.monotonic() - since)  # the same moment on Redis's clock
    while True:
        if any(s > after for s in stamps_of()):
            return True
        if time.monotonic() >= until:
            return False
        time.sleep(0.1)
