"""Cost of one admission on each store, and the Redis commands it takes."""

from __future__ import annotations

import time
from typing import Any

import _scenarios_common as common
import requests

from tiktok_adapter import TikTokAdapter


def _adapter(storage_uri: str) -> tuple[TikTokAdapter, requests.PreparedRequest]:
    ad = TikTokAdapter(
        limits={common.ROUTE: f"{common.NEVER_BINDS}/second"},
        app_limit=None,
        storage_uri=storage_uri,
        key_prefix=common.unique_prefix(),
    )
    request = requests.Request("GET", "http://127.0.0.1/" + common.PATH).prepare()
    return ad, request


def _time(fn: Any, count: int) -> tuple[float, float]:
    """Microseconds per call: wall time, and this process's CPU time."""
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(count):
        fn()
    return ((time.perf_counter() - wall) / count * 1e6, (time.process_time() - cpu) / count * 1e6)


def _commands(client: Any) -> dict[str, int]:
    stats = client.info("commandstats")
    return {k.removeprefix("cmdstat_"): int(v["calls"]) for k, v in stats.items()}


def _store(name: str, uri: str, count: int, own_redis: bool) -> tuple[dict[str, Any], Any]:
    ad, request = _adapter(uri)
    route = ad.resolve(request)
    windows, blocks, store = route.windows, route.blocks, ad.store
    # The adapter hands a memory store its clock reading and a Redis store nothing
    # (the script reads the server's clock: settings.storage_time).
    now = time.time if name == "memory" else (lambda: None)

    def admit() -> None:
        ad.admit(request, route)

    _time(admit, min(count, 200))  # warm the route, the deque, the script cache
    acq_wall, acq_cpu = _time(lambda: store.acquire(windows, blocks, now()), count)
    adm_wall, adm_cpu = _time(admit, count)
    commands = None
    if name == "redis" and own_redis:
        import redis

        client = redis.Redis.from_url(uri)
        client.config_resetstat()
        before = _commands(client)
        _time(admit, count)
        after = _commands(client)
        client.close()
        # The INFO call that read "before" is itself counted; take it back out.
        delta = {k: after.get(k, 0) - before.get(k, 0) for k in after}
        delta["info"] = delta.get("info", 0) - 1
        commands = {k: v / count for k, v in sorted(delta.items()) if v > 0}
    ad.close()
    row = {
        "store": name,
        "acquire_us": acq_wall,
        "acquire_cpu_us": acq_cpu,
        "admit_us": adm_wall,
        "admit_cpu_us": adm_cpu,
    }
    return row, commands


def measure(redis_url: str | None, count: int, own_redis: bool) -> dict[str, Any]:
    """``store.acquire`` and ``admit`` per call; on Redis also the commands per admission.

    Command counts come from INFO commandstats after CONFIG RESETSTAT, which only
    makes sense on a server nobody else uses, so they are taken only on our own.
    """
    rows = []
    commands: dict[str, float] | None = None
    stores = [("memory", "memory://")] + ([("redis", redis_url)] if redis_url else [])
    for name, uri in stores:
        row, counted = _store(name, uri, count, own_redis)
        rows.append(row)
        commands = counted or commands
    result: dict[str, Any] = {"admissions": count, "rows": rows, "notes": []}
    if commands is not None:
        round_trips = sum(v for k, v in commands.items() if k.startswith("eval"))
        result["redis_commands_per_admission"] = commands
        result["redis_round_trips_per_admission"] = round_trips
        result["redis_commands_total_per_admission"] = sum(commands.values())
    elif redis_url:
        result["notes"].append("Redis command counts need a redis-server of our own; not taken")
    else:
        result["notes"].append("no redis-server found; Redis not measured")
    return result
