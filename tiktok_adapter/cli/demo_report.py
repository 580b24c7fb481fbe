"""What the demo measured, and the ideal it is compared with.

The demo runs on a scaled clock, so two costs of the simulation grow with the time scale:
the request latency (1.5 ms of real loopback time is 9 simulated seconds at x6000) and the
safety margin the demo must add for loopback jitter (50 ms real, scaled). Neither is the
adapter's doing, so the ideal includes both: each request counts from the moment the bot
knew of it (after the calls it depends on, latency included), every window is widened by
the margin, and no endpoint's requests take less than one latency each. The ratio then
measures the adapter alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ..testing import parse_limits


@dataclass(frozen=True)
class EndpointRow:
    """One endpoint's numbers, live or final (seconds are simulated)."""

    endpoint: str
    sent: int
    waiting: int
    waited: int
    wait_seconds: float
    rate_limited: int
    failed: int
    ideal: float = 0.0


@dataclass(frozen=True)
class Arrival:
    """One request as the simulator saw it: simulated seconds since the demo started."""

    endpoint: str
    time: float
    refused: bool


@dataclass(frozen=True)
class IdealModel:
    """What the ideal charges for the simulation, in simulated seconds.

    ``margin`` widens every window: the safety margin the time scale forces on the demo,
    beyond the adapter's own default. ``latency`` is what one request costs this process
    with no limiter at all (client, simulator and interpreter lock, with the demo's
    threads; measured before the run, then scaled): one endpoint's ``n`` requests take
    at least ``n - 1`` latencies however well they are scheduled.
    """

    margin: float = 0.0
    latency: float = 0.0


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
    arrivals: tuple[Arrival, ...] = ()
    limits: Mapping[str, str] | None = None
    app_limit: str | None = None
    model: IdealModel = IdealModel()

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

    @property
    def ratio(self) -> float:
        return self.makespan / self.ideal if self.ideal > 0 else 1.0


def ideal_span(count: int, limits: str | None, widen: float = 0.0) -> float:
    """The earliest moment, from an empty window, at which the table admits ``count`` requests.

    ``widen`` seconds are added to every window's period (a safety margin).
    """
    if count < 1 or not limits:
        return 0.0
    return max((count - 1) // r.amount * (r.period + widen) for r in parse_limits(limits))


def endpoint_ideal(
    released: list[float], arrivals: list[float], limits: str | None, model: IdealModel
) -> float:
    """The earliest moment a perfect limiter could have sent these requests by.

    ``released`` holds when the workload made each request known (the bot queues a
    comment delete once it has read the comments); a request with no release of its own
    (a second page) is known as early as the endpoint's first arrival. The requests then
    go out in that order, each as soon as every window, widened by the margin, admits
    it; no schedule sends ``n`` requests in less than ``n - 1`` latencies.
    """
    count = len(arrivals)
    if count == 0:
        return 0.0
    first = min(arrivals)
    known = sorted((sorted(released) + [first] * count)[:count])
    rates = parse_limits(limits) if limits else ()
    sent: list[float] = []
    for i, ready in enumerate(known):
        moment = ready
        for rate in rates:
            if i >= rate.amount:
                moment = max(moment, sent[i - rate.amount] + rate.period + model.margin)
        sent.append(moment)
    return max(sent[-1], first + (count - 1) * model.latency)


def overall_ideal(
    accepted: int, app_limit: str | None, per_endpoint: Mapping[str, float], model: IdealModel
) -> float:
    """The ideal makespan: the slowest endpoint's, or the app window's."""
    return max([ideal_span(accepted, app_limit, model.margin), *per_endpoint.values(), 0.0])
