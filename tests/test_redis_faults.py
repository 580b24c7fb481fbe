"""Redis faults: a frozen server, unreachable clusters and Sentinels, bad passwords.

Every Redis here is a private redis-server of the test's own, which the test may freeze
(SIGSTOP) or start late. Verdicts count arrivals at a mocked server on the FakeClock.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import requests
import responses
from conftest import RedisServer, _free_port, free_cluster_port, need_redis_server
from redis_errors import failed_with

from tiktok_adapter import (
    ConfigurationError,
    RateLimitExceeded,
    StorageUnavailable,
    TikTokAdapter,
    TikTokAdapterError,
    mount,
)
from tiktok_adapter.testing import FakeClock

pytestmark = pytest.mark.redis

INFO = "https://open.tiktokapis.com/v2/user/info/"
PASSWORD = "S3cret-Pass-77"
TOKEN = "act.VERY-SECRET-TOKEN-42"


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    """A redis-server for this test alone, which it may freeze; thawed and stopped after."""
    need_redis_server()
    server = RedisServer()
    server.start()
    yield server
    if server.process is not None:
        os.kill(server.process.pid, signal.SIGCONT)
    server.stop()


def freeze(server: RedisServer) -> None:
    assert server.process is not None
    os.kill(server.process.pid, signal.SIGSTOP)


def thaw(server: RedisServer) -> None:
    assert server.process is not None
    os.kill(server.process.pid, signal.SIGCONT)


def record_arrivals(mocked: responses.RequestsMock, clock: FakeClock) -> list[float]:
    """Every request that reaches the (mocked) server, stamped on the test's clock."""
    arrivals: list[float] = []

    def answer(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        arrivals.append(clock.now())
        return 200, {"Content-Type": "application/json"}, '{"data": {}}'

    mocked.add_callback(responses.GET, INFO, callback=answer)
    return arrivals


def most_in_a_window(stamps: list[float], period: float) -> int:
    """The most arrivals in any half-open window [t, t + period)."""
    stamps = sorted(stamps)
    most, lo = 0, 0
    for hi, t in enumerate(stamps):
        while t - stamps[lo] >= period:
            lo += 1
        most = max(most, hi - lo + 1)
    return most


def adapter_on(url: str, prefix: str, clock: FakeClock, **kw: Any) -> TikTokAdapter:
    options: dict[str, Any] = {
        "storage_uri": url,
        "key_prefix": prefix,
        "clock": clock,
        "storage_time": False,  # the fake clock drives Redis's windows too
        "safety_margin": 0.0,
        "default_priority": "critical",
        "app_limit": None,
        "limits": {"/user/info/": "10/10seconds"},
    }
    options.update(kw)
    return TikTokAdapter(**options)


# -- 1. the fallback remembers, and what it admitted keeps counting ---------------------------


@pytest.mark.beside  # waits on real time: run beside the others (tests/beside.py)
def test_one_process_stays_within_the_limit_across_both_switches(
    own_redis: RedisServer, key_prefix: str, clock: FakeClock, mocked: responses.RequestsMock
) -> None:
    arrivals = record_arrivals(mocked, clock)
    session = requests.Session()
    adapter = mount(session, adapter_on(own_redis.url, key_prefix, clock))
    start = clock.now()
    for _ in range(10):  # through Redis
        session.get(INFO)
    freeze(own_redis)
    clock.advance(1.0)
    for _ in range(10):  # through the fallback: it must remember the first 10
        session.get(INFO)
    assert adapter.store.degraded
    thaw(own_redis)
    clock.set(start + 10.3)
    for _ in range(10):  # Redis is back, but it never saw the fallback's 10
        session.get(INFO)
    assert len(arrivals) == 30
    assert most_in_a_window(arrivals, 10.0) <= 10
    assert not adapter.store.degraded  # the last ones went through Redis again


@pytest.mark.beside  # waits on real time: run beside the others (tests/beside.py)
def test_the_fallback_counts_what_went_through_redis_on_redis_time(
    own_redis: RedisServer, key_prefix: str, clock: FakeClock, mocked: responses.RequestsMock
) -> None:
    # With storage_time (the default) Redis stamps on its own clock, the fallback on ours.
    arrivals = record_arrivals(mocked, clock)
    session = requests.Session()
    mount(session, adapter_on(own_redis.url, key_prefix, clock, storage_time=True,
                              on_limit="raise"))  # fmt: skip
    for _ in range(10):
        session.get(INFO)
    freeze(own_redis)
    clock.advance(1.0)
    with pytest.raises(RateLimitExceeded, match="10/10seconds") as info:
        session.get(INFO)
    assert not isinstance(info.value, StorageUnavailable)
    assert len(arrivals) == 10
    clock.advance(9.5)  # our clock says the window has passed: the fallback admits again
    assert session.get(INFO).status_code == 200


def test_a_refusal_by_redis_takes_back_the_local_charge(
    own_redis: RedisServer, key_prefix: str, clock: FakeClock, mocked: responses.RequestsMock
) -> None:
    arrivals = record_arrivals(mocked, clock)
    mine, other = requests.Session(), requests.Session()
    mount(mine, adapter_on(own_redis.url, key_prefix, clock, on_limit="raise"))
    mount(other, adapter_on(own_redis.url, key_prefix, clock, on_limit="raise"))
    start = clock.now()
    for _ in range(5):
        mine.get(INFO)
        other.get(INFO)
    clock.advance(5.0)
    for _ in range(10):  # the fleet's window is full: Redis refuses every one
        with pytest.raises(RateLimitExceeded):
            mine.get(INFO)
    clock.set(start + 10.1)  # the fleet's 10 have left the window; my 5 refusals sent nothing
    for _ in range(10):
        mine.get(INFO)
    assert len(arrivals) == 20


# -- 2. no table grows with users or paths ------------------------------------------------------


def _entries(obj: object) -> int:
    return sum(len(v) for v in vars(obj).values() if isinstance(v, (dict, list, set)))


def test_many_tokens_and_paths_leave_no_table_in_the_redis_store(
    redis_url: str, key_prefix: str, clock: FakeClock
) -> None:
    adapter = adapter_on(
        redis_url, key_prefix, clock,
        limits={"/video/query/": "100000/minute;5/minute@token"}, app_limit="100000/hour",
    )  # fmt: skip
    query = "https://open.tiktokapis.com/v2/video/query/"
    for i in range(1500):
        request = requests.Request("POST", query, headers={"Authorization": f"Bearer t{i}"})
        prepared = request.prepare()
        adapter.admit(prepared, adapter.resolve(prepared))
        prepared = requests.Request("GET", f"https://open.tiktokapis.com/v2/x{i}/").prepare()
        adapter.admit(prepared, adapter.resolve(prepared))
    assert adapter.store.primary.client.dbsize() > 0  # it did count in Redis
    assert _entries(adapter.store.primary) < 100
    # The in-process count keeps each user's window while it is live, then forgets it.
    assert _entries(adapter.store.fallback) > 1500
    clock.advance(61.0)
    route = adapter.resolve(prepared)  # an unknown path: the app window only
    for _ in range(4100):  # the in-process store sweeps idle windows every 4,096 admissions
        assert adapter.store.acquire(route.windows, route.blocks, None).admitted
    assert _entries(adapter.store.fallback) < 100


# -- 3. errors stay in the tree and never show a password ---------------------------------------


def _no_secret(text: str) -> None:
    assert PASSWORD not in text and TOKEN not in text, text


def _unreachable(scheme: str, port: int, path: str = "") -> str:
    return f"{scheme}://:{PASSWORD}@127.0.0.1:{port}{path}"


def test_an_unreachable_cluster_falls_back_at_construction(
    clock: FakeClock, mocked: responses.RequestsMock, caplog: pytest.LogCaptureFixture
) -> None:
    arrivals = record_arrivals(mocked, clock)
    caplog.set_level(logging.DEBUG, logger="tiktok_adapter")
    session = requests.Session()
    adapter = mount(session, adapter_on(_unreachable("redis+cluster", _free_port()), "p", clock))
    assert session.get(INFO, headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert adapter.store.degraded and len(arrivals) == 1
    # Never answered since built: one ERROR that names the setting to fix.
    assert any(r.levelno == logging.ERROR and "storage_uri" in r.getMessage()
               for r in caplog.records)  # fmt: skip
    for record in caplog.records:
        _no_secret(record.getMessage())


def test_an_unreachable_cluster_raises_storage_unavailable_at_the_first_request(
    clock: FakeClock, mocked: responses.RequestsMock
) -> None:
    arrivals = record_arrivals(mocked, clock)
    session = requests.Session()
    uri = _unreachable("redis+cluster", _free_port())
    adapter = mount(session, adapter_on(uri, "p", clock, on_storage_error="raise"))
    with pytest.raises(StorageUnavailable) as info:
        session.get(INFO, headers={"Authorization": f"Bearer {TOKEN}"})
    assert str(info.value).startswith("rate-limit storage unavailable for /user/info/")
    assert failed_with(info.value, redis.exceptions.RedisClusterException, redis.ConnectionError)
    _no_secret(str(info.value))
    with pytest.raises(StorageUnavailable) as budget:
        adapter.budget()
    _no_secret(str(budget.value))
    assert arrivals == []


def _start_cluster_nodes(ports: list[int], tmp_path: Path) -> list[subprocess.Popen[bytes]]:
    """One-node Redis Clusters, each holding every slot, started side by side (a node
    takes two seconds to call itself writable, so they wait out those seconds together)."""
    processes = []
    for port in ports:
        workdir = tmp_path / str(port)
        workdir.mkdir()
        processes.append(subprocess.Popen(
            ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--cluster-enabled", "yes", "--dir", str(workdir),
             "--cluster-config-file", "nodes.conf"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        ))  # fmt: skip
    deadline = time.monotonic() + 10
    for port in ports:
        client = redis.Redis(port=port, socket_connect_timeout=0.5)
        while True:
            try:
                client.execute_command("CLUSTER", "ADDSLOTSRANGE", 0, 16383)
                break
            except redis.RedisError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
    for port in ports:
        client = redis.Redis(port=port, socket_connect_timeout=0.5)
        while client.execute_command("CLUSTER", "INFO").decode().find("cluster_state:ok") < 0:
            if time.monotonic() > deadline:
                raise RuntimeError("a one-node cluster did not come up")
            time.sleep(0.05)
    return processes


@pytest.mark.beside  # waits on real time: run beside the others (tests/beside.py)
def test_a_cluster_that_comes_up_later_is_used(clock: FakeClock, tmp_path: Path) -> None:
    """In either mode (the fallback, or raise), the adapter uses a Cluster that was down
    at its first call once it is up."""
    need_redis_server()
    modes = ["fallback", "raise"]
    ports = [free_cluster_port() for _ in modes]
    while len(set(ports)) < len(modes) or abs(ports[0] - ports[1]) == 10000:
        ports[1] = free_cluster_port()
    started: list[subprocess.Popen[bytes]] = []
    try:
        with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
            record_arrivals(mocked, clock)
            sessions, adapters = [], []
            for mode, port in zip(modes, ports, strict=True):
                uri = f"redis+cluster://127.0.0.1:{port}"
                session = requests.Session()
                adapters.append(
                    mount(session, adapter_on(uri, "late", clock, on_storage_error=mode))
                )
                sessions.append(session)
                if mode == "raise":
                    with pytest.raises(StorageUnavailable):
                        session.get(INFO)
                else:
                    session.get(INFO)
            started = _start_cluster_nodes(ports, tmp_path)
            clock.advance(6.0)  # past the fallback's retry interval
            for session, adapter, port in zip(sessions, adapters, ports, strict=True):
                assert session.get(INFO).status_code == 200
                keys = redis.Redis(port=port).keys("{late}*")
                assert any(b"/user/info/" in k for k in keys), keys
                assert adapter.store.primary.client is not None
    finally:
        for process in started:
            process.terminate()
            process.wait(timeout=10)


def test_status_on_an_unreachable_cluster_is_one_line_without_the_password(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from tiktok_adapter.cli import main

    code = main(["status", "--storage", _unreachable("redis+cluster", _free_port())])
    err = capsys.readouterr().err
    assert code == 1
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "unavailable" in err
    _no_secret(err)


def test_a_sentinel_uri_without_a_service_names_the_problem() -> None:
    with pytest.raises(ConfigurationError) as info:
        TikTokAdapter(storage_uri=f"redis+sentinel://:{PASSWORD}@127.0.0.1:26379")
    message = str(info.value)
    _no_secret(message)
    assert "service" in message and "pip install" not in message
    assert "storage_uri" in message


def test_an_unreachable_sentinel_is_an_outage_without_the_password(
    clock: FakeClock, mocked: responses.RequestsMock, caplog: pytest.LogCaptureFixture
) -> None:
    arrivals = record_arrivals(mocked, clock)
    uri = _unreachable("redis+sentinel", _free_port(), "/mymaster")
    raising = requests.Session()
    mount(raising, adapter_on(uri, "s", clock, on_storage_error="raise"))
    with pytest.raises(StorageUnavailable) as info:
        raising.get(INFO)
    _no_secret(str(info.value))
    assert len(str(info.value)) < 400  # not the client's whole connection repr
    caplog.set_level(logging.DEBUG, logger="tiktok_adapter")
    falling_back = requests.Session()
    mount(falling_back, adapter_on(uri, "s", clock))
    assert falling_back.get(INFO).status_code == 200
    assert len(arrivals) == 1
    for record in caplog.records:
        _no_secret(record.getMessage())


@pytest.fixture
def redis_with_password() -> Iterator[int]:
    need_redis_server()
    port = _free_port()
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--requirepass", "the-right-one"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    client = redis.Redis(port=port, password="the-right-one", socket_connect_timeout=0.5)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.RedisError:
            if time.monotonic() > deadline:
                process.kill()
                raise
            time.sleep(0.05)
    yield port
    process.terminate()
    process.wait(timeout=10)


def test_a_wrong_password_is_storage_unavailable_without_the_password(
    redis_with_password: int, clock: FakeClock, mocked: responses.RequestsMock
) -> None:
    record_arrivals(mocked, clock)
    uri = f"redis://:{PASSWORD}@127.0.0.1:{redis_with_password}/0"
    session = requests.Session()
    adapter = mount(session, adapter_on(uri, "pw", clock, on_storage_error="raise"))
    with pytest.raises(TikTokAdapterError) as info:
        session.get(INFO, headers={"Authorization": f"Bearer {TOKEN}"})
    assert isinstance(info.value, StorageUnavailable)
    _no_secret(str(info.value))
    _no_secret(repr(adapter.settings))


def test_an_unsupported_uri_is_refused_without_its_password() -> None:
    with pytest.raises(ConfigurationError) as info:
        TikTokAdapter(storage_uri=f"mongodb://admin:{PASSWORD}@127.0.0.1:27017")
    _no_secret(str(info.value))
    assert "storage_uri" in str(info.value)
