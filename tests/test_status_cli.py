"""`tiktok-adapter status`: the fleet's live budget read back from Redis, and the store's
health: answering or degraded, and the fleet that shares it (read without joining it)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import redis
import requests
import responses
from conftest import RedisServer

from tiktok_adapter import RateLimitExceeded, TikTokAdapter, mount
from tiktok_adapter.cli import main

pytestmark = pytest.mark.redis

INFO = "https://open.tiktokapis.com/v2/user/info/"


def test_status_reads_what_another_worker_spent(
    redis_url: str,
    key_prefix: str,
    mocked: responses.RequestsMock,
    capsys: pytest.CaptureFixture[str],
) -> None:
    mocked.get(INFO, json={}, status=429, headers={"Retry-After": "120"})
    session = requests.Session()
    adapter = mount(session, storage_uri=redis_url, key_prefix=key_prefix, on_limit="raise")
    # Raise mode: the server's 429 comes back as the refusal, with the response on it.
    with pytest.raises(RateLimitExceeded) as refused:
        session.get(INFO)
    assert refused.value.response is not None and refused.value.response.status_code == 429
    adapter.close()

    args = ["status", "--storage", redis_url, "--key-prefix", key_prefix]
    assert main([*args, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    info = report["endpoints"]["/user/info/"]
    assert [(w["limit"], w["used"]) for w in info["windows"]] == [
        ("10/minute", 1),
        ("100/hour", 1),
    ]
    assert info["blocked_until"] is not None
    assert report["app"][0]["remaining"] == 999

    assert main(args) == 0
    table = capsys.readouterr().out
    assert "/user/info/" in table and "10/minute" in table


@pytest.mark.parametrize(
    "uri",
    ["redis://:hunter2@127.0.0.1:1/0", "redis+cluster://:hunter2@127.0.0.1:1"],
)
def test_status_with_the_store_down_is_one_line_and_exit_1(
    uri: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["status", "--storage", uri]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    [line] = captured.err.splitlines()
    assert line.startswith("tiktok-adapter: error: limiter degraded: ") and "unavailable" in line
    assert "hunter2" not in line


@pytest.mark.beside  # waits on processes of its own: run beside the others (tests/beside.py)
def test_status_with_the_store_down_prints_no_traceback() -> None:
    # The console script as a user runs it: a clean line on stderr, nothing else.
    result = subprocess.run(
        [sys.executable, "-m", "tiktok_adapter", "status", "--storage",
         "redis+cluster://127.0.0.1:1"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr


def test_a_bad_storage_uri_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status", "--storage", "nosuch://x"]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("tiktok-adapter: error: ") and "storage_uri" in line


def _member(redis_url: str, key_prefix: str) -> TikTokAdapter:
    """One worker of the fleet, which has said once that it is alive."""
    adapter = TikTokAdapter(storage_uri=redis_url, key_prefix=key_prefix)
    adapter.store.stop_heartbeat()
    adapter.store.beat()
    return adapter


def test_status_shows_a_settled_fleet_without_joining_it(
    redis_url: str, key_prefix: str, capsys: pytest.CaptureFixture[str]
) -> None:
    workers = [_member(redis_url, key_prefix) for _ in range(2)]
    names = {w.store.member for w in workers}
    args = ["status", "--storage", redis_url, "--key-prefix", key_prefix]
    try:
        assert main(args) == 0
        out = capsys.readouterr().out
        assert "storage answering at " in out
        assert "; fleet of 2 members, settled (each heard from within 2.5 s)" in out
        assert all(name in out for name in names) and "DEGRADED" not in out

        assert main([*args, "--json"]) == 0
        storage = json.loads(capsys.readouterr().out)["storage"]
        assert (storage["answering"], storage["degraded"]) == (True, False)
        assert (storage["fleet_size"], storage["fleet_settled"]) == (2, True)
        assert {m["member"] for m in storage["members"]} == names
        assert {m["state"] for m in storage["members"]} == {"ok"}

        # status read the fleet without joining it: still two members in Redis.
        client = redis.Redis.from_url(redis_url)
        assert client.zcard("{" + key_prefix + "}:members") == 2
        client.close()
    finally:
        for worker in workers:
            worker.close()


def test_status_says_degraded_while_a_member_counts_alone_or_is_silent(
    redis_url: str, key_prefix: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # The heartbeat's keys, written by hand: one member back from an outage it has not
    # replayed yet, one silent for 10 s, one gone (silent for 40 s), one in good health.
    client = redis.Redis.from_url(redis_url)
    now = float(client.time()[0])
    members, states = "{" + key_prefix + "}:members", "{" + key_prefix + "}:member-states"
    client.zadd(members, {"alone": now, "silent": now - 10, "gone": now - 40, "fine": now})
    client.hset(states, mapping={"alone": "out", "silent": "ok", "gone": "ok", "fine": "ok"})
    client.expire(members, 60)
    client.expire(states, 60)
    client.close()

    args = ["status", "--storage", redis_url, "--key-prefix", key_prefix]
    assert main(args) == 0  # the budget was read: degraded is news, not a failure
    out = capsys.readouterr().out
    assert (
        "fleet of 3 members, not settled (1 counting alone, 1 silent); each process limits "
        "at its share (1/3 of each limit) until every member is heard from"
    ) in out
    assert "storage DEGRADED at " in out and "gone" not in out

    assert main([*args, "--json"]) == 0
    storage = json.loads(capsys.readouterr().out)["storage"]
    assert (storage["degraded"], storage["fleet_size"], storage["fleet_settled"]) == (
        True, 3, False,
    )  # fmt: skip
    states_seen = {m["member"]: m["state"] for m in storage["members"]}
    assert states_seen == {"alone": "counting alone", "silent": "silent", "fine": "ok"}


def test_status_on_memory_says_nothing_of_a_store(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status"]) == 0
    out = capsys.readouterr().out  # no store health: the only note is that nothing was found
    assert "tiktok_adapter fleet" not in out and "storage answering" not in out
    assert main(["status", "--json"]) == 0
    assert "storage" not in json.loads(capsys.readouterr().out)


def test_status_shows_the_stores_problem_without_the_password(
    locked_server: tuple[RedisServer, str], capsys: pytest.CaptureFixture[str]
) -> None:
    _, url = locked_server
    assert main(["status", "--storage", url]) == 0
    captured = capsys.readouterr()
    [problem] = [line for line in captured.out.splitlines() if line.startswith("storage problem")]
    assert "allkeys-lru" in problem
    assert "hunter2" not in captured.out + captured.err

    assert main(["status", "--storage", url, "--json"]) == 0
    storage = json.loads(capsys.readouterr().out)["storage"]
    assert "allkeys-lru" in storage["problem"] and "hunter2" not in json.dumps(storage)


def test_status_with_a_wrong_password_is_one_degraded_line(
    locked_server: tuple[RedisServer, str], capsys: pytest.CaptureFixture[str]
) -> None:
    server, _ = locked_server
    wrong = server.url.replace("redis://", "redis://:swordfish@")
    assert main(["status", "--storage", wrong]) == 1
    captured = capsys.readouterr()
    [line] = captured.err.splitlines()
    assert line.startswith("tiktok-adapter: error: limiter degraded: ")
    assert "swordfish" not in line and captured.out == ""
