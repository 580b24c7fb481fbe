"""A Sentinel failover under a fleet of 4 worker processes, against real redis-servers.

While the fleet calls a loopback server, the master fails and the Sentinels promote the
replica: in fallback mode the master hangs (SIGSTOP, as when the network drops it: every
call on it times out), in raise mode it dies (SIGKILL: connections are refused). What the
README promises is what is asserted here:

- no call takes longer than the socket timeout (1 s) plus one retry backoff (0.1 s),
  with 0.5 s of slack for a loaded two-core machine running 9 processes;
- no request is lost: every call ends in a response or an exception of the package, and
  every response counted by a worker is an arrival at the server;
- fallback mode: each process stays within the limit in every window; the fleet within
  processes x limit in windows that overlap the switch, and within the limit both before
  the failure and once every process is back on Redis;
- raise mode: an unreachable master is StorageUnavailable, and the fleet stays within the
  limit plus what the old master acknowledged without passing it to the replica (replication
  is asynchronous; the README allows one per calling thread, asserted: one per process).
"""

from __future__ import annotations

import time
import uuid

import pytest
from failover_fleet import (
    LIMIT,
    PERIOD,
    PROCESSES,
    RUN,
    WARM_UP,
    ArrivalServer,
    Call,
    admitted_through,
    check_calls,
    most_in_a_window,
    run_fleet,
)
from redis_topologies import SentinelSet, client, running

# Slow (real failovers): they run in the tox env `py311-redis`, not in every env.
pytestmark = [pytest.mark.redis, pytest.mark.failover]


Arrivals = list[tuple[float, int]]


def fleet_through_a_failover(mode: str, how: str) -> tuple[list[Call], Arrivals, float, str]:
    """Run the fleet across a failed master; (calls, arrivals, failure moment, prefix)."""
    prefix = f"sentinel-{mode}-{uuid.uuid4().hex[:8]}"
    with running(SentinelSet()) as sentinels, ArrivalServer().serving() as server:
        start = time.monotonic() + 4.0  # time for 4 interpreters to start
        fleet = run_fleet(sentinels.uri, prefix, mode, server.url, start, start + RUN,
                          processes=PROCESSES)  # fmt: skip
        time.sleep(max(0.0, start + WARM_UP - time.monotonic()))
        assert sentinels.master_port() == sentinels.master
        killed = time.monotonic()
        (sentinels.freeze if how == "freeze" else sentinels.kill)(sentinels.master)
        promoted = sentinels.wait_promoted()
        assert promoted - killed < RUN - WARM_UP - 5.0, "the promotion came too late to test"

        def stamps() -> list[float]:  # Redis's wall clock, on the promoted replica
            new = client(sentinels.replica)
            return [float(s) for key in new.scan_iter(match=f"{{{prefix}}}:w:*")
                    for s in new.lrange(key, 0, -1)]  # fmt: skip

        # The fleet wrote to the new master after the switch.
        through = admitted_through(stamps, promoted, until=start + RUN)
        calls = [c for worker in fleet.result(timeout=RUN + 90) for c in worker]
        assert through, "no admission went through the new master"
        return calls, list(server.arrivals), killed, prefix


def test_fallback_mode_keeps_every_process_within_the_limit_across_a_sentinel_failover() -> None:
    calls, arrivals, killed, _ = fleet_through_a_failover("fallback", "freeze")
    outcomes = check_calls(calls, arrivals)
    assert set(outcomes) <= {"ok", "RateLimitExceeded"}, outcomes
    assert any(c.degraded for c in calls), "no process noticed the failover"
    for worker in range(PROCESSES):
        mine = [t for t, w in arrivals if w == worker]
        assert most_in_a_window(mine, PERIOD) <= LIMIT, f"process {worker} exceeded the limit"
        assert not [c for c in calls if c.worker == worker][-1].degraded, "never back on Redis"
    stamps = [t for t, _ in arrivals]
    assert most_in_a_window(stamps, PERIOD) <= PROCESSES * LIMIT
    assert most_in_a_window(stamps, PERIOD, until=killed) <= LIMIT
    rejoined = max(c.start + c.seconds for c in calls if c.degraded)
    assert most_in_a_window(stamps, PERIOD, since=rejoined) <= LIMIT
    assert max(stamps) - rejoined > 2 * PERIOD, "too little time on Redis after the switch"


def test_raise_mode_reports_storage_unavailable_during_a_sentinel_failover() -> None:
    calls, arrivals, _, _ = fleet_through_a_failover("raise", "kill")
    outcomes = check_calls(calls, arrivals)
    assert set(outcomes) <= {"ok", "RateLimitExceeded", "StorageUnavailable"}, outcomes
    assert outcomes["StorageUnavailable"] > 0, "the failover went unnoticed"
    assert most_in_a_window([t for t, _ in arrivals], PERIOD) <= LIMIT + PROCESSES
