"""A Redis Cluster of 3 masters and 3 replicas: one app's keys share a slot.

Its failovers are in test_failover_raise_mode.py (raise mode) and test_fleet_outages.py
(the fallback mode, issue #23's scenarios).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
import requests
import responses
from redis_topologies import Cluster, client, running

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
