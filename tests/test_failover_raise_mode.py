"""A failover under a fleet in raise mode, against real redis-servers: a Sentinel's
master, and the Cluster master that serves the fleet's slot, die (SIGKILL) under the
fleet of test_fleet_outages.py (4 processes x 4 threads, default settings) with
``on_storage_error="raise"``; a replica takes over. The fallback mode's outages are
issue #23's scenarios, in test_fleet_outages.py.

- an unreachable master is StorageUnavailable, and nothing is sent for it;
- no call is lost, and no call waits on the store longer than the socket timeout (1 s)
  plus one retry backoff (0.1 s), with 0.5 s of slack for a loaded two-core machine;
- the fleet stays within the limit plus what the old master acknowledged without passing
  it to the replica (replication is asynchronous; the README allows one per calling
  thread, asserted: one per process), counted as the server's 429s.
"""

from __future__ import annotations

import failover_fleet as ff
import fleet_outages as fo
import pytest
from redis_topologies import cluster_client_bounds_calls

# Slow (real failovers): they run in the tox envs `py311-redis` and `py311-redis-min`.
pytestmark = [pytest.mark.redis, pytest.mark.failover]

old_cluster_client = pytest.mark.skipif(
    not cluster_client_bounds_calls(),
    reason="redis-py < 5 retries a failed cluster node by itself, so a call has no bound "
    "(README, Several workers); the latest releases are tested",
)


@pytest.mark.parametrize(
    "scenario", ["sentinel-kill", pytest.param("cluster-kill", marks=old_cluster_client)]
)
def test_raise_mode_reports_storage_unavailable_during_a_failover(scenario: str) -> None:
    m = fo.measure(fo.run(fo.SCENARIOS[scenario], mode="raise"))
    assert set(m["outcomes"]) <= {"ok", "StorageUnavailable"}, m["outcomes"]
    assert m["outcomes"].get("StorageUnavailable", 0) > 0, "the failover went unnoticed"
    assert m["lost"] == 0 and m["responses"] == m["arrivals_200"]
    assert m["longest_store_call_s"] <= ff.LONGEST_CALL
    assert m["http_429"] <= ff.PROCESSES
    assert m["windows_before"] and m["windows_after"]
