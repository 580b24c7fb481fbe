"""A Redis URI whose database is not a number fails at construction, naming the setting,
the value and what is valid: redis-py would quietly count in database 0 instead, beside
whatever else lives there."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tiktok_adapter import ConfigurationError, TikTokAdapter


@pytest.mark.parametrize(
    "uri", ["redis://127.0.0.1:6379/zz", "rediss://:secret@127.0.0.1:6379/1x", "valkey://h/a/b"]
)
def test_a_database_that_is_not_a_number_is_refused(uri: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        TikTokAdapter(storage_uri=uri)
    message = str(info.value)
    assert "storage_uri=" in message and "is not a number" in message and "/0" in message
    assert "secret" not in message


@pytest.mark.parametrize(
    "uri",
    [
        "redis://127.0.0.1:6379",
        "redis://127.0.0.1:6379/",
        "redis://127.0.0.1:6379/3",
        "redis+sentinel://127.0.0.1:26379/mymaster",
        "redis+unix:///path/to/redis.sock",
    ],
)
def test_a_database_number_or_none_is_taken(uri: str) -> None:
    TikTokAdapter(storage_uri=uri).close()


def test_status_says_so_in_one_line() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tiktok_adapter", "status", "--storage", "redis://127.0.0.1:1/zz"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert "is not a number" in done.stderr and len(done.stderr.strip().splitlines()) == 1
