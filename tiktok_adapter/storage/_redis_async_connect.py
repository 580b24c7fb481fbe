"""The ``redis.asyncio`` client a storage URI names: one server, a Sentinel set or a Cluster.

A URI is read as `limits` reads it for the sync store (its Sentinel and Cluster storages:
the hosts after the credentials, comma separated, each with its port; the service from the
path; the user and password of the URL, as written), so one URI leads a sync and an async
process to the same servers, the same password and the same service. The client's calls
are bounded as the sync client's are (see ``storage._redis_client``): a socket timeout,
one quick retry on a server or the master (by the store), none on a cluster, one try
on each Sentinel.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import urllib.parse
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from ..exceptions import ConfigurationError
from ._redis_client import SOCKET_TIMEOUT, no_retry, requires, takes
from .uri import describe_error, redact_uri, sentinel_service, uri_secrets

_TIMEOUTS = {"socket_timeout": SOCKET_TIMEOUT, "socket_connect_timeout": SOCKET_TIMEOUT}
# What limits gives a sync cluster client; async tasks may hold many connections at once.
_CLUSTER_CONNECTIONS = 1000


class Topology(Enum):
    SERVER = "server"
    SENTINEL = "sentinel"
    CLUSTER = "cluster"


@dataclass(frozen=True)
class Target:
    """What a storage URI names; the URI and the password are kept out of the repr."""

    module: str  # "redis" or "valkey": the client package
    topology: Topology
    tls: bool
    url: str = field(repr=False)  # a single server's URL, as its client's from_url reads it
    hosts: tuple[tuple[str, int], ...] = ()
    service: str = ""
    auth: dict[str, str] = field(default_factory=dict, repr=False)


def _refused(uri: str, why: str) -> ConfigurationError:
    return ConfigurationError(f"storage_uri={redact_uri(uri)!r} cannot be used: {why}")


def target_of(uri: str) -> Target:
    """Parse ``uri`` (a scheme of the sync Redis backend); ConfigurationError, without the
    password, for one that names no server."""
    scheme, _, rest = uri.partition("://")
    scheme = scheme.lower()
    family, _, kind = scheme.partition("+")
    module = "valkey" if family.startswith("valkey") else "redis"
    tls = family in ("rediss", "valkeys")
    if kind in ("", "unix"):
        # limits hands these to the client's from_url, a unix socket as unix://.
        url = f"unix://{rest}" if kind else uri
        return Target(module, Topology.SERVER, tls, url)
    topology = Topology.SENTINEL if kind == "sentinel" else Topology.CLUSTER
    parsed = urllib.parse.urlparse(uri)
    hosts: list[tuple[str, int | None]] = []
    try:
        for location in parsed.netloc.rpartition("@")[2].split(","):
            one = urllib.parse.urlparse(f"fake://{location.strip()}")
            hosts.append((one.hostname or "", one.port))
    except ValueError as exc:  # a port that is not a number
        raise _refused(uri, describe_error(exc, uri_secrets(uri))) from None
    if not all(host and port for host, port in hosts):
        raise _refused(uri, "every host needs its port (host:port[,host:port])")
    auth = {name: value for name, value in (("username", parsed.username),
                                            ("password", parsed.password)) if value}  # fmt: skip
    # limits names the service by the path with every "/" removed.
    service = sentinel_service(uri).replace("/", "")
    if topology is Topology.SENTINEL and not service:
        raise ConfigurationError(
            f"storage_uri={redact_uri(uri)!r} names no Sentinel service; write it as "
            f"{scheme}://[:password@]host:26379[,host:port]/<service name>"
        )
    return Target(module, topology, tls, uri, tuple((h, int(p or 0)) for h, p in hosts),
                  service, auth)  # fmt: skip


def _module(target: Target, uri: str, name: str) -> Any:
    wanted = f"{target.module}.asyncio{name}"
    try:
        return importlib.import_module(wanted)
    except ImportError:
        if importlib.util.find_spec(target.module) is None:
            hint = requires(uri)[1]
        else:  # redis 4.2 has redis.asyncio but no async cluster client yet
            hint = f"this {target.module} release has none: pip install -U {target.module}"
        raise ConfigurationError(
            f"storage_uri={redact_uri(uri)!r}: the async transport needs {wanted}; {hint}"
        ) from None


def check_installed(target: Target, uri: str) -> None:
    """ConfigurationError now, not at the first request, when the client is missing."""
    suffix = {Topology.SERVER: "", Topology.SENTINEL: ".sentinel", Topology.CLUSTER: ".cluster"}
    _module(target, uri, suffix[target.topology])


@dataclass
class Opened:
    """A client, and the clients behind it to close with it (a Sentinel set's own)."""

    client: Any
    topology: Topology
    behind: tuple[Any, ...] = ()


def open_client(target: Target, uri: str) -> Opened:
    """A client for ``target``; nothing is connected until its first command."""
    base = _module(target, uri, "")
    # redis-py 6 and later retry 10 times by default; a release without `retry` does not.
    takes_retry = takes(getattr(base, "Valkey" if target.module == "valkey" else "Redis"),
                         "retry")  # fmt: skip
    # No retry in the client: the store retries a quick failure once (with_retry_async).
    retry = {"retry": no_retry(target.module, asynchronous=True)} if takes_retry else {}
    if target.topology is Topology.SERVER:
        return Opened(base.from_url(target.url, **_TIMEOUTS, **retry), Topology.SERVER)
    tls = {"ssl": True} if target.tls else {}
    if target.topology is Topology.SENTINEL:
        sentinel = _module(target, uri, ".sentinel")
        if target.tls and not hasattr(sentinel, "SentinelManagedSSLConnection"):
            raise _refused(uri, f"this {target.module} release has no async Sentinel over TLS")
        # The Sentinels get one try each: a refused one is skipped for the next at once.
        once = retry
        watchers = sentinel.Sentinel(
            list(target.hosts), sentinel_kwargs={**target.auth, **_TIMEOUTS, **once, **tls},
            **target.auth, **_TIMEOUTS, **retry, **tls,
        )  # fmt: skip
        return Opened(watchers.master_for(target.service), Topology.SENTINEL,
                      tuple(watchers.sentinels))  # fmt: skip
    cluster = _module(target, uri, ".cluster")
    name = "ValkeyCluster" if target.module == "valkey" else "RedisCluster"
    cls = getattr(cluster, name)
    options: dict[str, Any] = {**target.auth, **_TIMEOUTS, **tls}
    if target.tls and not takes(cls, "ssl"):
        raise _refused(uri, f"this {target.module} release has no async Cluster over TLS")
    if takes(cls, "max_connections"):
        options["max_connections"] = _CLUSTER_CONNECTIONS
    # No retry on a cluster: the client reads the slots again after a failed node, and a
    # retry there could cost a second timeout. Older releases count retries instead.
    if takes(cls, "retry"):
        options["retry"] = no_retry(target.module, asynchronous=True)
    else:
        options["cluster_error_retry_attempts"] = 0
    nodes = [cluster.ClusterNode(host, port) for host, port in target.hosts]
    return Opened(cls(startup_nodes=nodes, **options), Topology.CLUSTER)


async def close_quietly(client: Any) -> None:
    """Close ``client`` (redis 5 names it aclose(); redis 4's close() is the coroutine)
    and the connections of its pool, which is this store's alone but which redis before 5
    leaves connected on close; closing a dead connection is not worth an error."""
    closing = getattr(client, "aclose", None) or client.close
    with contextlib.suppress(Exception):
        await closing()
    pool = getattr(client, "connection_pool", None)  # a cluster client has none
    if pool is not None:
        with contextlib.suppress(Exception):
            await pool.disconnect()
