"""A Redis Cluster of 3 masters and 3 replicas: keys by app, and a failover under a fleet.

The master that serves the fleet's slot dies while the fleet of test_fleet_outages.py
calls a loopback server in raise mode; its replica takes over. The promises, and what is
asserted, are those of test_sentinel.py; the fallback mode's cluster failover is one of
issue #23's scenarios, in test_fleet_outages.py.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import failover_fleet as ff
import fleet_outages as fo
import pytest
import requests
import responses
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


@old_client
def test_raise_mode_reports_storage_unavailable_during_a_cluster_failover() -> None:
    m = fo.measure(fo.run(fo.SCENARIOS["cluster-kill"], mode="raise"))
    assert set(m["outcomes"]) <= {"ok", "StorageUnavailable"}, m["outcomes"]
    assert m["outcomes"].get("StorageUnavailable", 0) > 0, "the failover went unnoticed"
    assert m["lost"] == 0 and m["responses"] == m["arrivals_200"]
    assert m["longest_store_call_s"] <= ff.LONGEST_CALL
    assert m["http_429"] <= ff.PROCESSES
    assert m["windows_before"] and m["windows_after"]
