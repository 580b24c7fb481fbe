"""Highly available Redis on loopback for the failover tests: Sentinel and Cluster.

Every server is a redis-server of our own on free loopback ports, in a temporary directory
removed afterwards; the machine's own Redis is never touched. Failovers are tuned to take
a few seconds (down-after 1 s, cluster node timeout 1 s), unless a test asks for a slower
failure detection (``detect_ms``), so that an outage lasts long enough to be measured.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

# As in conftest; read here so that the benchmarks can use these topologies too.
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

SERVICE = "mymaster"
_START_TIMEOUT = 20.0


def need_redis_server() -> None:
    """Skip without redis-server, except in CI, where the failover tests must run."""
    if shutil.which("redis-server") is None or shutil.which("redis-cli") is None:
        if IN_CI:
            pytest.fail("Redis is required in CI: redis-server or redis-cli is not on PATH")
        pytest.skip("redis-server or redis-cli is not on PATH")


def cluster_client_bounds_calls() -> bool:
    """Whether redis-py's cluster client takes a Retry (redis-py 5 and later). Before, it
    retries a failed node by itself, up to 5 times 0.25 s apart, and a call has no bound."""
    import inspect

    import redis.cluster

    return "retry" in inspect.signature(redis.cluster.RedisCluster.__init__).parameters


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_ports(count: int, bus: bool = False) -> list[int]:
    """Free loopback ports; with ``bus``, each port + 10000 (a cluster bus) is free too."""
    found: list[int] = []
    while len(found) < count:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port in found or (bus and (port + 10000 > 65535 or not _bindable(port + 10000))):
            continue
        found.append(port)
    return found


def wait_for(what: str, check: Callable[[], bool], timeout: float = _START_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(redis.RedisError, OSError):
            if check():
                return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not happen within {timeout:.0f} s")
        time.sleep(0.05)


def client(port: int) -> redis.Redis:
    return redis.Redis(port=port, socket_timeout=2, socket_connect_timeout=1,
                       decode_responses=True)  # fmt: skip


def role(port: int) -> str:
    return str(client(port).info("replication")["role"])


def linked(port: int) -> bool:
    return client(port).info("replication").get("master_link_status") == "up"


def cluster_ok(port: int) -> bool:
    info = client(port).execute_command("CLUSTER", "INFO")
    return "cluster_state:ok" in info if isinstance(info, str) else info["cluster_state"] == "ok"


class _Servers:
    """redis-server processes by port, all stopped (and the directory removed) at close."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="tiktok-adapter-redis-"))
        self.processes: dict[int, subprocess.Popen[bytes]] = {}
        self.frozen: set[int] = set()

    def start(self, port: int, *args: str) -> None:
        common = ["--port", str(port), "--bind", "127.0.0.1", "--save", "",
                  "--appendonly", "no", "--dir", str(self.dir)]  # fmt: skip
        self.processes[port] = subprocess.Popen(
            ["redis-server", *args, *common], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

    def kill(self, port: int) -> None:
        """SIGKILL: the master dies without a word, as a crashed machine would."""
        process = self.processes.pop(port)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)

    def __enter__(self) -> _Servers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def freeze(self, port: int) -> None:
        """SIGSTOP: the master hangs, as one cut off by the network would; calls time out."""
        self.processes[port].send_signal(signal.SIGSTOP)
        self.frozen.add(port)

    def thaw(self, port: int) -> None:
        """SIGCONT: a frozen server runs again, as one whose network came back would."""
        self.processes[port].send_signal(signal.SIGCONT)
        self.frozen.discard(port)

    def close(self) -> None:
        for process in self.processes.values():
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGCONT)
            process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        self.processes.clear()
        shutil.rmtree(self.dir, ignore_errors=True)


class SentinelSet(_Servers):
    """A master, one replica and three Sentinels (quorum 2) watching ``SERVICE``; a master
    silent for ``detect_ms`` is down (down-after-milliseconds)."""

    def __init__(self, detect_ms: int = 1000) -> None:
        super().__init__()
        self.master, self.replica, *self.sentinels = free_ports(5)
        self.detect_ms = detect_ms

    def up(self) -> SentinelSet:
        self.start(self.master)
        self.start(self.replica, "--replicaof", "127.0.0.1", str(self.master))
        wait_for("the replica's sync", lambda: linked(self.replica))
        for port in self.sentinels:
            conf = self.dir / f"sentinel-{port}.conf"
            conf.write_text(
                f"sentinel monitor {SERVICE} 127.0.0.1 {self.master} 2\n"
                f"sentinel down-after-milliseconds {SERVICE} {self.detect_ms}\n"
                f"sentinel failover-timeout {SERVICE} {max(4000, 2 * self.detect_ms)}\n"
                f"sentinel parallel-syncs {SERVICE} 1\n"
            )
            self.start(port, str(conf), "--sentinel")
        # A failover needs the Sentinels to know each other and the replica.
        for port in self.sentinels:
            wait_for(f"sentinel {port} to see its peers", lambda p=port: self._ready(p))
        return self

    def _ready(self, port: int) -> bool:
        master = client(port).execute_command("SENTINEL", "MASTER", SERVICE)
        info = master if isinstance(master, dict) else dict(zip(*[iter(master)] * 2, strict=True))
        return int(info["num-other-sentinels"]) == 2 and int(info["num-slaves"]) == 1

    @property
    def uri(self) -> str:
        hosts = ",".join(f"127.0.0.1:{p}" for p in self.sentinels)
        return f"redis+sentinel://{hosts}/{SERVICE}"

    def master_port(self) -> int:
        _, port = client(self.sentinels[0]).execute_command(
            "SENTINEL", "GET-MASTER-ADDR-BY-NAME", SERVICE
        )
        return int(port)

    def wait_promoted(self, timeout: float = 20.0) -> float:
        """Wait until the Sentinels name the replica as master; returns when they did."""
        wait_for("the replica's promotion", lambda: self.master_port() == self.replica, timeout)
        wait_for("the new master to take writes", lambda: role(self.replica) == "master")
        return time.monotonic()


class Cluster(_Servers):
    """Three masters, each with one replica, holding all 16384 slots; a node silent for
    ``detect_ms`` fails (cluster-node-timeout)."""

    def __init__(self, detect_ms: int = 1000) -> None:
        super().__init__()
        self.ports = free_ports(6, bus=True)
        self.detect_ms = detect_ms

    def up(self) -> Cluster:
        for port in self.ports:
            self.start(port, "--cluster-enabled", "yes",
                       "--cluster-node-timeout", str(self.detect_ms),
                       "--cluster-config-file", f"nodes-{port}.conf")  # fmt: skip
        for port in self.ports:
            wait_for(f"node {port}", lambda p=port: bool(client(p).ping()))
        subprocess.run(
            ["redis-cli", "--cluster", "create", *(f"127.0.0.1:{p}" for p in self.ports),
             "--cluster-replicas", "1", "--cluster-yes"],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60,
        )  # fmt: skip
        for port in self.ports:
            wait_for(f"node {port} to join", lambda p=port: cluster_ok(p))
        for port in self.ports:
            wait_for(f"node {port}'s replica link", lambda p=port: self._synced(p))
            wait_for(f"node {port} to see every replica", lambda p=port: self._complete(p))
        return self

    def _complete(self, port: int) -> bool:
        ranges = client(port).execute_command("CLUSTER", "SLOTS")
        return len(ranges) == 3 and all(len(r) == 4 for r in ranges)

    def _synced(self, port: int) -> bool:
        return role(port) == "master" or linked(port)

    @property
    def uri(self) -> str:
        return "redis+cluster://" + ",".join(f"127.0.0.1:{p}" for p in self.ports[:3])

    def live(self) -> list[int]:
        return [p for p in self.ports if p in self.processes and p not in self.frozen]

    def slot_of(self, key: str) -> int:
        return int(client(self.live()[0]).execute_command("CLUSTER", "KEYSLOT", key))

    def owner(self, slot: int, asking: int | None = None) -> tuple[int, int | None]:
        """(master port, replica port) serving ``slot``, as a live node sees it."""
        node = asking if asking is not None else self.live()[0]
        for start, end, master, *replicas in client(node).execute_command("CLUSTER", "SLOTS"):
            if int(start) <= slot <= int(end):
                return int(master[1]), (int(replicas[0][1]) if replicas else None)
        raise LookupError(f"slot {slot} is not served")

    def wait_promoted(self, slot: int, replica: int, timeout: float = 20.0) -> float:
        def promoted() -> bool:
            live = self.live()
            return all(self.owner(slot, p)[0] == replica and cluster_ok(p) for p in live)

        wait_for("the replica's promotion", promoted, timeout)
        return time.monotonic()

    def keys_on(self, port: int, pattern: str) -> list[str]:
        return sorted(str(k) for k in client(port).scan_iter(match=pattern, count=1000))


class PlainRedis(_Servers):
    """One redis-server on a free port, which may be stopped and started again, empty."""

    def __init__(self) -> None:
        super().__init__()
        (self.port,) = free_ports(1)

    def up(self) -> PlainRedis:
        self.start(self.port)
        wait_for(f"redis-server {self.port}", lambda: bool(client(self.port).ping()))
        return self

    @property
    def uri(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def restart(self) -> float:
        """Start it again on the same port, empty (nothing is saved); returns when it answers."""
        self.up()
        return time.monotonic()


@contextlib.contextmanager
def running(topology: Any) -> Iterator[Any]:
    need_redis_server()
    try:
        yield topology.up()
    finally:
        topology.close()
