"""The async transport on Redis Sentinel and Redis Cluster, against real redis-servers.

It counts through redis.asyncio with the sync store's scripts and keys, so sync and async
processes on one Sentinel set or Cluster share one quota; a failed master is a prompt
StorageUnavailable (with on_storage_error="raise"), and once a replica is promoted the
transport counts on the new master. Limits are per minute so nothing expires mid-test;
real time is spent only waiting for a failover.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import inspect
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import limits.storage
import pytest
import redis
import requests
import responses
from redis_errors import failed_with
from redis_topologies import Cluster, SentinelSet, client, running
from transports import OK_BODY, Wire

import tiktok_adapter
from tiktok_adapter import ConfigurationError, StorageUnavailable, TikTokAdapter, mount
from tiktok_adapter.core.windows import StorageError
from tiktok_adapter.httpx import AsyncTikTokTransport, RateLimitExceeded
from tiktok_adapter.storage._redis_async import ASYNC_SCHEMES, AsyncRedisStore
from tiktok_adapter.storage._redis_async_connect import Opened, Topology, open_client, target_of
from tiktok_adapter.storage._redis_client import RETRY_BACKOFF, SOCKET_TIMEOUT, client_options
from tiktok_adapter.storage.redis import SCHEMES

# Starting a topology takes seconds: they run in the tox env `py311-redis`.
pytestmark = [pytest.mark.redis, pytest.mark.failover]

INFO = "https://open.tiktokapis.com/v2/user/info/"
LIMIT = 5
# One call on a dead master: a socket timeout, one retry backoff, and slack for a loaded
# two-core machine.
BOUND = SOCKET_TIMEOUT + RETRY_BACKOFF + 0.5
PASSWORD = "s3cr3t-Pa55"


def settings(uri: str, prefix: str, limit: int = LIMIT) -> dict[str, Any]:
    return {
        "storage_uri": uri, "key_prefix": prefix, "on_limit": "raise",
        "on_storage_error": "raise", "default_priority": "critical", "safety_margin": 0.0,
        "limits": {"/user/info/": f"{limit}/minute"},
    }  # fmt: skip


def async_transport(wire: Wire, **options: Any) -> AsyncTikTokTransport:
    transport = AsyncTikTokTransport(transport=wire.transport, **options)

    def blocking(*args: object) -> None:
        raise AssertionError("the async transport used the sync Redis client")

    # Every admission of the async path is awaited through redis.asyncio.
    transport.limiter.store.primary.acquire = blocking
    return transport


async def admitted(transport: AsyncTikTokTransport, calls: int) -> int:
    """How many of ``calls`` requests were admitted before the first refusal."""
    async with httpx.AsyncClient(transport=transport) as http:
        for done in range(calls):
            try:
                await http.get(INFO)
            except RateLimitExceeded as exc:
                assert "/minute" in str(exc)
                return done
    return calls


def sync_calls(uri: str, prefix: str, calls: int) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
        mocked.get(INFO, json=OK_BODY)
        session = requests.Session()
        adapter = TikTokAdapter(**settings(uri, prefix))
        mount(session, adapter)
        for _ in range(calls):
            assert session.get(INFO).status_code == 200
        adapter.close()


@pytest.fixture(scope="module")
def sentinels() -> Iterator[SentinelSet]:
    with running(SentinelSet()) as started:
        yield started


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    pytest.importorskip("redis.asyncio.cluster", reason="redis.asyncio has a cluster from 4.3")
    with running(Cluster()) as started:
        yield started


@pytest.fixture(params=["sentinel", "cluster"])
def topology(request: pytest.FixtureRequest) -> Any:
    return request.getfixturevalue("sentinels" if request.param == "sentinel" else "cluster")


def window_keys(topology: Any, prefix: str) -> list[str]:
    """The prefix's window keys on the master that holds them."""
    if isinstance(topology, SentinelSet):
        port = topology.master_port()
    else:
        port = topology.owner(topology.slot_of("{" + prefix + "}"))[0]
    return sorted(str(k) for k in client(port).keys("{" + prefix + "}:w:*"))


def test_every_scheme_of_the_sync_backend_is_served() -> None:
    assert ASYNC_SCHEMES == SCHEMES
    assert {"redis+sentinel", "rediss+cluster", "valkey+cluster"} <= ASYNC_SCHEMES


def test_the_async_transport_admits_exactly_the_limit(topology: Any) -> None:
    prefix = f"ha-limit-{uuid.uuid4().hex[:8]}"
    wire = Wire()
    transport = async_transport(wire, **settings(topology.uri, prefix))
    assert asyncio.run(admitted(transport, LIMIT + 3)) == LIMIT
    assert wire.sent == LIMIT
    assert len(window_keys(topology, prefix)) == 2  # the endpoint's window and the app's


def test_sync_and_async_processes_share_one_quota(topology: Any) -> None:
    prefix = f"ha-shared-{uuid.uuid4().hex[:8]}"
    sync_calls(topology.uri, prefix, 3)
    wire = Wire()
    transport = async_transport(wire, **settings(topology.uri, prefix))
    assert asyncio.run(admitted(transport, LIMIT)) == LIMIT - 3
    with pytest.raises(tiktok_adapter.RateLimitExceeded, match="/minute"):
        sync_calls(topology.uri, prefix, 1)


async def until_refused(transport: AsyncTikTokTransport) -> float:
    """Calls until one is StorageUnavailable; how long that call took."""
    async with httpx.AsyncClient(transport=transport) as http:
        for _ in range(50):
            began = time.monotonic()
            try:
                await http.get(INFO)
            except StorageUnavailable as exc:
                assert isinstance(exc, httpx.HTTPError)
                return time.monotonic() - began
            await asyncio.sleep(0.05)
    raise AssertionError("the failed master went unnoticed")


async def one_call(transport: AsyncTikTokTransport) -> int:
    async with httpx.AsyncClient(transport=transport) as http:
        return (await http.get(INFO)).status_code


def test_a_sentinel_failover_is_a_prompt_error_then_the_new_master_counts() -> None:
    prefix = f"ha-sentinel-{uuid.uuid4().hex[:8]}"
    with running(SentinelSet()) as sentinels:
        wire = Wire()
        transport = async_transport(wire, **settings(sentinels.uri, prefix, limit=1000))
        loop = asyncio.new_event_loop()
        try:
            assert loop.run_until_complete(one_call(transport)) == 200
            sentinels.kill(sentinels.master)
            assert loop.run_until_complete(until_refused(transport)) < BOUND
            sentinels.wait_promoted()
            # The next call finds the new master, which has no script yet (EVAL loads it).
            assert loop.run_until_complete(one_call(transport)) == 200
            assert client(sentinels.replica).keys("{" + prefix + "}:w:*")
        finally:
            loop.run_until_complete(transport.aclose())
            loop.close()
    assert wire.sent == 2


def test_a_cluster_failover_is_a_prompt_error_then_the_new_master_counts() -> None:
    pytest.importorskip("redis.asyncio.cluster", reason="redis.asyncio has a cluster from 4.3")
    prefix = f"ha-cluster-{uuid.uuid4().hex[:8]}"
    with running(Cluster()) as cluster:
        slot = cluster.slot_of("{" + prefix + "}")
        master, replica = cluster.owner(slot)
        assert replica is not None
        wire = Wire()
        transport = async_transport(wire, **settings(cluster.uri, prefix, limit=1000))
        loop = asyncio.new_event_loop()
        try:
            assert loop.run_until_complete(one_call(transport)) == 200
            cluster.kill(master)
            assert loop.run_until_complete(until_refused(transport)) < BOUND
            cluster.wait_promoted(slot, replica)
            assert loop.run_until_complete(one_call(transport)) == 200
            assert cluster.keys_on(replica, "{" + prefix + "}:w:*")
        finally:
            loop.run_until_complete(transport.aclose())
            loop.close()
    assert wire.sent == 2


# The same URI names the same servers, password and service for the sync store (which
# `limits` opens) and the async one; no server is needed to compare the two clients.
SENTINEL_URI = f"redis+sentinel://:{PASSWORD}@127.0.0.1:1,127.0.0.1:2/my/master"


def _retries(retry: Any) -> int:
    """How often a redis-py Retry goes again after a ConnectionError, counted by running it:
    redis-py 4.2 has no Retry.get_retries(), only call_with_retry (async in redis.asyncio)."""
    attempts = 0

    async def attempt() -> None:
        nonlocal attempts
        attempts += 1
        raise redis.ConnectionError("down")

    async def failed(error: Exception) -> None:
        pass

    with contextlib.suppress(redis.ConnectionError):
        if inspect.iscoroutinefunction(retry.call_with_retry):
            asyncio.run(retry.call_with_retry(attempt, failed))
        else:
            retry.call_with_retry(lambda: asyncio.run(attempt()), lambda error: None)
    return attempts - 1


def test_sync_and_async_read_a_sentinel_uri_alike() -> None:
    sync = limits.storage.storage_from_string(SENTINEL_URI, **client_options(SENTINEL_URI))
    opened = open_client(target_of(SENTINEL_URI), SENTINEL_URI)
    assert opened.topology is Topology.SENTINEL

    def kwargs(clients: Any) -> list[tuple[Any, ...]]:
        names = ("host", "port", "password", "socket_timeout")
        return [tuple(c.connection_pool.connection_kwargs.get(k) for k in names) for c in clients]

    assert kwargs(opened.behind) == kwargs(sync.sentinel.sentinels)
    mine, theirs = opened.client.connection_pool, sync.storage.connection_pool
    assert mine.service_name == theirs.service_name == "mymaster"
    assert mine.connection_kwargs["password"] == theirs.connection_kwargs["password"] == PASSWORD
    # Bounded: one quick retry on the master, one try on each Sentinel.
    # The client retries nothing; the store retries a quick failure once (with_retry_async).
    assert _retries(mine.connection_kwargs["retry"]) == 0
    assert mine.connection_kwargs["socket_timeout"] == SOCKET_TIMEOUT
    for sentinel in opened.behind:
        retry = sentinel.connection_pool.connection_kwargs.get("retry")
        assert retry is None or _retries(retry) == 0


def test_a_cluster_uri_names_the_same_nodes_and_is_not_retried() -> None:
    pytest.importorskip("redis.asyncio.cluster", reason="redis.asyncio has a cluster from 4.3")
    uri = f"redis+cluster://app:{PASSWORD}@127.0.0.1:7000, 127.0.0.1:7001"
    target = target_of(uri)
    assert target.hosts == (("127.0.0.1", 7000), ("127.0.0.1", 7001))
    assert target.auth == {"username": "app", "password": PASSWORD}
    cluster = open_client(target, uri).client
    assert [n.name for n in cluster.startup_nodes] == ["127.0.0.1:7000", "127.0.0.1:7001"]
    assert cluster.connection_kwargs["password"] == PASSWORD
    assert cluster.connection_kwargs["socket_timeout"] == SOCKET_TIMEOUT
    if hasattr(cluster, "retry"):
        assert _retries(cluster.retry) == 0
    assert PASSWORD not in repr(target)
    assert target_of(uri.replace("redis+", "rediss+")).tls


@pytest.mark.parametrize(
    "uri",
    [
        f"redis+sentinel://:{PASSWORD}@127.0.0.1:26379",  # no service
        f"redis+sentinel://:{PASSWORD}@127.0.0.1:port/mymaster",  # a port that is no number
        f"redis+cluster://user:{PASSWORD}@127.0.0.1",  # no port
        f"rediss+cluster://:{PASSWORD}@127.0.0.1:7000,:7001",  # no host
    ],
)
def test_a_uri_that_names_no_server_is_refused_without_its_password(uri: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        target_of(uri)
    assert PASSWORD not in str(info.value)
    assert "***" in str(info.value)


def test_an_unreachable_sentinel_set_is_an_error_without_the_password() -> None:
    uri = f"redis+sentinel://:{PASSWORD}@127.0.0.1:1,127.0.0.1:2/mymaster"
    store = AsyncRedisStore(uri, key_prefix="t", margin=0.0, use_storage_time=False)

    async def main() -> StorageError:
        try:
            with pytest.raises(StorageError) as info:
                await store.block("ep:/user/info/", 10.0, 0.0)
            return info.value
        finally:
            await store.aclose()

    began = time.monotonic()
    error = asyncio.run(main())
    assert time.monotonic() - began < BOUND
    assert failed_with(error, redis.ConnectionError)  # MasterNotFoundError is one
    assert PASSWORD not in str(error)


@pytest.mark.skipif(importlib.util.find_spec("valkey") is not None, reason="valkey is installed")
def test_valkey_schemes_without_valkey_say_how_to_install_it() -> None:
    with pytest.raises(ConfigurationError, match="pip install valkey") as info:
        AsyncRedisStore(f"valkey+cluster://:{PASSWORD}@127.0.0.1:7000", key_prefix="t",
                        margin=0.0, use_storage_time=False)  # fmt: skip
    assert PASSWORD not in str(info.value)


class FlakyClient:
    """A client whose first command fails as a dead node's does; it records what the store
    did about it (a cluster's topology refresh, a pool's dropped idle connections)."""

    def __init__(self, uri: str) -> None:
        self.uri = uri
        self.seen: list[str] = []
        self.nodes_manager = self
        self.connection_pool = self

    async def execute_command(self, *args: Any) -> Any:
        self.seen.append(str(args[0]))
        if len(self.seen) == 1:
            raise ConnectionError(f"Connection refused by {self.uri}")
        return 0

    async def initialize(self) -> None:
        self.seen.append("refresh")

    async def disconnect(self, inuse_connections: bool = True) -> None:
        self.seen.append(f"disconnect idle={not inuse_connections}")


@pytest.mark.parametrize("topology", [Topology.CLUSTER, Topology.SENTINEL])
def test_after_a_failure_the_next_call_reads_the_topology_again(topology: Topology) -> None:
    if topology is Topology.CLUSTER:
        pytest.importorskip("redis.asyncio.cluster", reason="redis.asyncio has a cluster from 4.3")
    cluster_uri = f"redis+cluster://:{PASSWORD}@127.0.0.1:1"
    uri = cluster_uri if topology is Topology.CLUSTER else SENTINEL_URI
    store = AsyncRedisStore(uri, key_prefix="t", margin=0.0, use_storage_time=False)
    fake = FlakyClient(uri)
    store.opened = Opened(fake, topology)

    async def main() -> str:
        if topology is Topology.SENTINEL:  # the store's one quick retry finds it again
            await store.block("ep:/user/info/", 10.0, 0.0)
            return "Connection refused"
        with pytest.raises(StorageError, match="Connection refused") as info:
            await store.block("ep:/user/info/", 10.0, 0.0)
        await store.block("ep:/user/info/", 10.0, 0.0)
        return str(info.value)

    assert PASSWORD not in asyncio.run(main())
    if topology is Topology.CLUSTER:  # the slots are read again before the next command
        assert fake.seen == ["EVALSHA", "disconnect idle=True", "refresh", "EVALSHA"]
    else:  # no cluster to refresh; new connections ask the Sentinels
        assert fake.seen == ["EVALSHA", "disconnect idle=True", "EVALSHA"]
