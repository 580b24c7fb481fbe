"""`tiktok-adapter status`: the fleet's live budget read back from Redis."""

from __future__ import annotations

import json

import pytest
import requests
import responses

from tiktok_adapter import mount
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
    with pytest.raises(Exception):  # noqa: B017 - the 429 raises; the spend is what matters
        session.get(INFO)
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


def test_status_with_redis_down_fails_cleanly(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["status", "--storage", "redis://127.0.0.1:1/0"])
    assert code == 1
    assert "unavailable" in capsys.readouterr().err
