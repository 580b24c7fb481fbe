"""Matching URL paths to the limit table."""

from __future__ import annotations

import pytest

from tiktok_adapter import PRESETS, ConfigurationError
from tiktok_adapter.core.endpoints import (
    DEFAULT_LIMITS,
    SEED,
    EndpointTable,
    get_preset,
    normalize_path,
)


def test_default_limits_are_the_seed_table() -> None:
    assert DEFAULT_LIMITS == {
        "/user/info/": "10/minute;100/hour",
        "/video/list/": "5/minute;50/hour",
        "/video/query/": "20/minute;200/hour",
        "/video/comment/list/": "10/minute;100/hour",
        "/video/comment/create/": "5/minute;50/hour",
        "/video/comment/delete/": "10/minute;100/hour",
        "/video/comment/pin/": "5/minute;50/hour",
    }
    assert SEED.app_limit == "1000/hour"


@pytest.mark.parametrize(
    "path",
    [
        "/v2/video/query/",
        "/v2/video/query",
        "/video/query",
        "/video/query/",
        "/v2/video/query/?fields=id,title",
        "/proxy/tiktok/v2/video/query/",
        "//v2//video/query/",
    ],
)
def test_a_path_matches_with_or_without_version_and_slash(path: str) -> None:
    row = EndpointTable.build(SEED).match(path)
    assert row is not None and row.path == "/video/query/"


def test_unknown_path_matches_nothing() -> None:
    table = EndpointTable.build(SEED)
    assert table.match("/v2/oauth/token/") is None
    assert table.match("/") is None


@pytest.mark.parametrize("key", ["/v2/video/query", "video/query/", "/video/query/"])
def test_override_keys_may_be_written_either_way(key: str) -> None:
    table = EndpointTable.build(SEED, {key: "3/second"})
    row = table.match("/v2/video/query/")
    assert row is not None and row.limits == "3/second" and row.read_only


def test_override_adds_new_endpoints_as_writes() -> None:
    row = EndpointTable.build(SEED, {"/v2/post/publish/video/init/": "6/minute"}).match(
        "/v2/post/publish/video/init/"
    )
    assert row is not None and not row.read_only


def test_read_only_marks() -> None:
    table = EndpointTable.build(SEED)
    reads = {e.path for e in table if e.read_only}
    assert reads == {"/user/info/", "/video/list/", "/video/query/", "/video/comment/list/"}


def test_presets() -> None:
    assert set(PRESETS) >= {"seed", "display-v2", "research"}
    assert get_preset("display-v2").endpoints[0].limits == "600/minute"
    assert get_preset("research").app_limit == "1000/day@utc"
    with pytest.raises(ConfigurationError, match=r"preset=.nope..*valid presets"):
        get_preset("nope")


def test_normalize_path() -> None:
    assert normalize_path("/open_api/v1.3/business/comment/list/") == "/business/comment/list/"
    assert normalize_path("") == "/"
