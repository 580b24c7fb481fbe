"""A Redis Cluster of 3 masters and 3 replicas: keys by app, and a failover under a fleet.

The master that serves the fleet's slot fails while 4 worker processes call a loopback
server (it hangs in fallback mode, it dies in raise mode); its replica takes over. The
promises, and what is asserted, are those of test_sentinel.py.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
import requests
import responses
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
from redis_topologies import Cluster, client, cluster_client_bounds_calls, running

from tiktok_adapter import TikTokAdapter, mount

# Slow (real failovers): they run in the tox env `py311-redis`, not in every env.
pytestmark = [pytest.mark.redis, pytest.mark.failover]

INFO = "https://open.tiktokapis.com/v2/user/info/"


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    """One cluster for the tests that leave it whole; the failover tests start their own."""
    with running(Cluster()) as started:
        yield started


def _admit_once(cluster: Cluster, prefix: str) -> None:
    with responses.RequestsMock() as mocked:
        mocked.get(INFO, json={"data": {}})
        session = requests.Session()
        adapter = TikTokAdapter(
            storage_uri=cluster.uri, key_prefix=prefix, app_limit="100/minute",
            on_storage_error="raise", limits={"/user/info/": "5/second"},
        )  # fmt: skip
        mount(session, adapter)
        assert session.get(INFO).status_code == 200
        adapter.store.block("q:/user/info/", time.monotonic() + 30, time.monotonic())
        adapter.close()


def test_one_apps_keys_share_a_slot_and_two_apps_may_land_on_different_nodes(
    cluster: Cluster,
) -> None:
    # Two key prefixes (two apps, or two tokens' quotas) whose slots two masters serve,
    # found by asking the cluster, not the adapter.
    owners: dict[int, str] = {}
    for i in range(64):
        prefix = f"app{i}-{uuid.uuid4().hex[:6]}"
        owners.setdefault(cluster.owner(cluster.slot_of("{" + prefix + "}"))[0], prefix)
        if len(owners) >= 2:
            break
    assert len(owners) >= 2
    for port, prefix in owners.items():
        _admit_once(cluster, prefix)
        slot = cluster.slot_of("{" + prefix + "}")
        for node in cluster.ports:
            found = [k for k in cluster.keys_on(node, "{" + prefix + "}*") if ":member" not in k]
            if node != port:
                assert found == [] or cluster.owner(slot)[1] == node, (node, found)
                continue
            # The app window, the endpoint's window and the endpoint's block hash.
            assert len(found) == 3, found
            slots = {int(client(node).execute_command("CLUSTER", "KEYSLOT", k)) for k in found}
            assert slots == {slot}


old_client = pytest.mark.skipif(
    not cluster_client_bounds_calls(),
    reason="redis-py < 5 retries a failed cluster node by itself, so a call has no bound "
    "(README, Several workers); the latest releases are tested",
)


def fleet_through_a_cluster_failover(
    mode: str, how: str
) -> tuple[list[Call], list[tuple[float, int]], float]:
    prefix = f"cluster-{mode}-{uuid.uuid4().hex[:8]}"
    with running(Cluster()) as cluster, ArrivalServer().serving() as server:
        slot = cluster.slot_of("{" + prefix + "}")
        master, replica = cluster.owner(slot)
        assert replica is not None
        start = time.monotonic() + 4.0
        fleet = run_fleet(cluster.uri, prefix, mode, server.url, start, start + RUN,
                          processes=PROCESSES)  # fmt: skip
        time.sleep(max(0.0, start + WARM_UP - time.monotonic()))
        killed = time.monotonic()
        (cluster.freeze if how == "freeze" else cluster.kill)(master)
        promoted = cluster.wait_promoted(slot, replica)
        assert promoted - killed < RUN - WARM_UP - 5.0, "the promotion came too late to test"

        def stamps() -> list[float]:  # Redis's wall clock, on the promoted replica
            return [float(s) for key in cluster.keys_on(replica, f"{{{prefix}}}:w:*")
                    for s in client(replica).lrange(key, 0, -1)]  # fmt: skip

        # The fleet wrote to the new master after the switch.
        through = admitted_through(stamps, promoted, until=start + RUN)
        calls = [c for worker in fleet.result(timeout=RUN + 90) for c in worker]
        assert through, "no admission went through the new master"
        return calls, list(server.arrivals), killed


@old_client
def test_fallback_mode_keeps_every_process_within_the_limit_across_a_cluster_failover() -> None:
    calls, arrivals, killed = fleet_through_a_cluster_failover("fallback", "freeze")
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


@old_client
def test_raise_mode_reports_storage_unavailable_during_a_cluster_failover() -> None:
    calls, arrivals, _ = fleet_through_a_cluster_failover("raise", "kill")
    outcomes = check_calls(calls, arrivals)
    assert set(outcomes) <= {"ok", "RateLimitExceeded", "StorageUnavailable"}, outcomes
    assert outcomes["StorageUnavailable"] > 0, "the failover went unnoticed"
    assert most_in_a_window([t for t, _ in arrivals], PERIOD) <= LIMIT + PROCESSES
