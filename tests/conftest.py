"""Shared fixtures: a fake clock, a mocked TikTok, and a real Redis of the tests' own."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import beside
import head_start
import pytest
import requests
import responses

from tiktok_adapter.testing import FakeClock, FakeTikTok

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


# -- commands with a head start (tests/head_start.py) --------------------------------------


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{head_start.MARKER}(key): reads the outcome of the command registered under key "
        "in tests/head_start.py, which starts when collection ends; the test runs last",
    )
    config.addinivalue_line(
        "markers",
        f"{beside.MARKER}: mostly waits (on real time, on its own processes); among many other "
        "tests, runs in a pytest process of its own beside them (tests/beside.py)",
    )


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The tests that read a command with a head start run last, in their own order, and
    the ones that mostly wait run beside the others when there are many others."""
    late = [item for item in items if item.get_closest_marker(head_start.MARKER)]
    if late:
        items[:] = [item for item in items if not item.get_closest_marker(head_start.MARKER)]
        items.extend(late)
    beside.hand_over(config, items)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start each command that a selected test will read, unless nothing runs."""
    if session.config.option.collectonly:
        return
    keys = {m.args[0] for item in session.items for m in item.iter_markers(head_start.MARKER)}
    keys |= {item.job.key for item in session.items if isinstance(item, beside.Beside)}
    for key in sorted(keys):
        head_start.JOBS[key].start()


def pytest_sessionfinish() -> None:
    head_start.stop_all()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def free_cluster_port() -> int:
    """A free port whose cluster bus port (port + 10000) is free and valid too.

    An ephemeral port above 55535 has no bus port at all, and redis-server refuses to
    start in cluster mode on it.
    """
    for _ in range(200):
        port = _free_port()
        if port + 10000 > 65535:
            port -= 20000
        try:
            for candidate in (port, port + 10000):
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", candidate))
        except OSError:
            continue
        return port
    raise RuntimeError("no free port pair for a cluster node")


def _ping(url: str) -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5).ping())
    except Exception:
        return False


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"Redis is required in CI: {reason}")
    pytest.skip(reason)


class RedisServer:
    """A private redis-server on a free loopback port, which tests may stop and restart."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while not _ping(self.url):
            if time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        """Kill it: to its clients the same outage as a shutdown, at once (on SIGTERM
        redis-server shuts down at its next timer tick, up to 0.1 s later; the suite stops
        a server some forty times)."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A redis-server owned by the test session (needed by tests that stop it)."""
    need_redis_server()
    server = RedisServer()
    server.start()
    yield server
    server.stop()


def need_redis_server() -> None:
    """Skip without redis-server, except in CI, where every Redis test must run."""
    if shutil.which("redis-server") is None:
        _unavailable("redis-server is not on PATH")


def settled_clients(watcher: Any) -> int:
    """How many clients a Redis server holds (``watcher``, a redis-py client, included),
    once it has seen every client that hung up before the call. Redis notices a hang-up
    when its loop reads that socket, which may be in the same turn as it answers the
    watcher, after it: the loop's next turn, which answers the second ask, has."""
    watcher.client_list()
    return len(watcher.client_list())


@pytest.fixture
def private_redis() -> Iterator[RedisServer]:
    """A redis-server for this test alone: its clients, keys and command counts are the
    test's own, and nobody else's data is near it."""
    need_redis_server()
    server = RedisServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def locked_server() -> Iterator[tuple[RedisServer, str]]:
    """A redis-server of the test's own, with the password hunter2 and an eviction policy
    that may remove the window keys; and its URL with the password."""
    if shutil.which("redis-server") is None:
        _unavailable("redis-server is not on PATH")
    import redis

    server = RedisServer()
    server.start()
    client = redis.Redis.from_url(server.url)
    client.config_set("maxmemory", "100mb")
    client.config_set("maxmemory-policy", "allkeys-lru")
    client.config_set("requirepass", "hunter2")
    client.close()
    yield server, server.url.replace("redis://", "redis://:hunter2@")
    server.stop()


@pytest.fixture(scope="session")
def redis_base_url(request: pytest.FixtureRequest) -> str:
    """TIKTOK_ADAPTER_TEST_REDIS_URL when set, else a private server of our own."""
    url = os.environ.get("TIKTOK_ADAPTER_TEST_REDIS_URL")
    if url:
        if not _ping(url):
            _unavailable(f"TIKTOK_ADAPTER_TEST_REDIS_URL does not answer: {url}")
        return url
    server: RedisServer = request.getfixturevalue("redis_server")
    return server.url


@pytest.fixture
def redis_url(redis_base_url: str) -> str:
    """The Redis to test against; pair it with ``key_prefix`` so tests never share counters."""
    return redis_base_url


@pytest.fixture
def key_prefix(request: pytest.FixtureRequest) -> str:
    return f"test-{request.node.name}-{os.getpid()}-{time.monotonic_ns()}"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fake(clock: FakeClock) -> Iterator[FakeTikTok]:
    """The simulator on the seed's table, counting on the test's ``clock``."""
    with FakeTikTok(clock=clock) as started:
        yield started


def stop_process(process: subprocess.Popen[str] | subprocess.Popen[bytes]) -> None:
    """SIGTERM a simulator subprocess and give it up to 10 s to exit by itself."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


@pytest.fixture
def mocked() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as s:
        # Nothing here goes through a proxy, and reading the proxy settings from the
        # environment on every call costs more than the adapter does.
        s.trust_env = False
        yield s


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def store(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Settings for the adapter's storage: memory, or a private Redis (one script there)."""
    if request.param == "memory":
        return {}
    return {
        "storage_uri": request.getfixturevalue("redis_url"),
        "key_prefix": request.getfixturevalue("key_prefix"),
        "storage_time": False,  # the fake clock drives the windows
    }
