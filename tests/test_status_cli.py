"""`tiktok-adapter status`: the fleet's live budget read back from Redis."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import requests
import responses

from tiktok_adapter import RateLimitExceeded, mount
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
    assert line.startswith("tiktok-adapter: error: ") and "unavailable" in line
    assert "hunter2" not in line


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
