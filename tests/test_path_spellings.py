"""Every spelling of a row's path that the server (nginx) takes for it counts in its windows.

nginx decodes escapes, merges slashes and removes dot segments before it picks a
location, so ``/v2//video/query/`` or ``/v2/%76ideo/query/`` spends the
``/video/query/`` limit on the server; the adapter must count it there too.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from transports import KINDS, OK_BODY, Factory, Reply, Script, drivers

from tiktok_adapter import RateLimitExceeded
from tiktok_adapter.core.endpoints import EndpointTable, get_preset, normalize_path
from tiktok_adapter.core.paths import resolve_path
from tiktok_adapter.testing import FakeClock

HOST = "https://open.tiktokapis.com"
CANONICAL = f"{HOST}/v2/video/query/"

# Written by hand from RFC 3986 (2.3 unreserved characters, 5.2.4 remove_dot_segments)
# and nginx's merge_slashes; never computed with the code under test.
RESOLVED = [
    ("/v2/video/query/", "/v2/video/query/"),
    ("/v2//video/query/", "/v2/video/query/"),
    ("/v2///video/query/", "/v2/video/query/"),
    ("//v2/video/query//", "/v2/video/query/"),
    ("/v2/video%2Fquery/", "/v2/video/query/"),
    ("/v2/video%2fquery/", "/v2/video/query/"),
    ("/v2%2F%2Fvideo/query/", "/v2/video/query/"),
    ("/v2/video/query/.", "/v2/video/query/"),
    ("/v2/video/query/%2e", "/v2/video/query/"),
    ("/v2/video/query/%2E/", "/v2/video/query/"),
    ("/v2/./video/query/", "/v2/video/query/"),
    ("/v2/video/x/../query/", "/v2/video/query/"),
    ("/v2/video/x/%2e%2e/query/", "/v2/video/query/"),
    ("/v2/video/query/x/..", "/v2/video/query/"),
    ("/v2/%76ideo/query/", "/v2/video/query/"),
    ("/v2/vid%65o/qu%65ry/", "/v2/video/query/"),
    ("/v2/%56ideo/query/", "/v2/Video/query/"),  # letter case is the server's business
    ("/research/user/liked%5Fvideos/", "/research/user/liked_videos/"),
    ("/a/%7E/b", "/a/~/b/"),
    ("/a/%2D%30", "/a/-0/"),
    ("/../../v2/video/query/", "/v2/video/query/"),  # nothing above the root
    ("/a/..", "/"),
    ("/", "/"),
    ("", "/"),
    # Escapes of other characters stay, and one pass decodes once.
    ("/v2/video%3Fquery/", "/v2/video%3Fquery/"),
    ("/v2/video%20query/", "/v2/video%20query/"),
    ("/v2/video%252Fquery/", "/v2/video%252Fquery/"),
    ("/v2/video%2", "/v2/video%2/"),
    ("/v2/video%zz/", "/v2/video%zz/"),
]

# What normalize_path makes of a full path: resolved, version segment gone, one '/'.
NORMALIZED = [
    ("/v2/video/query/", "/video/query/"),
    ("/v2//video/query/", "/video/query/"),
    ("/v2///video/query/", "/video/query/"),
    ("/v2/video//query/", "/video/query/"),
    ("/v2/video%2F%2Fquery//", "/video/query/"),
    ("/v2/video%2Fquery/", "/video/query/"),
    ("/v2%2F%2Fvideo/query/", "/video/query/"),
    ("/v2/video/query/.", "/video/query/"),
    ("/v2/video%2fquery/", "/video/query/"),
    ("/v2/video/query/%2e", "/video/query/"),
    ("/v2/%76ideo/query/", "/video/query/"),
    ("/v2/video/query/x/../", "/video/query/"),
    ("/open_api/v1.3//business/comment%2Flist/", "/business/comment/list/"),
    ("/v2/video/query/?a=%2F//", "/video/query/"),
    ("/proxy//v2/video/query", "/proxy/video/query/"),
]

# Sent through each transport; each must spend the /video/query/ window.
SPELLINGS = [
    "/v2//video/query/",
    "/v2///video/query/",
    "/v2/video//query/",
    "/v2/video///query/",
    "/v2/video%2Fquery/",
    "/v2/video%2F%2Fquery/",
    "/v2%2F%2Fvideo/query/",
    "/v2/video/query/.",
    "/v2/video%2fquery/",
    "/v2/video/query/%2e",
    "/v2/%76ideo/query/",
    "/v2/video/x/../query/",
    "/v2/video/x/%2E%2E/query/",
]


@pytest.mark.parametrize(("path", "expected"), RESOLVED)
def test_resolve_path(path: str, expected: str) -> None:
    assert resolve_path(path) == expected


@pytest.mark.parametrize(("path", "expected"), NORMALIZED)
def test_normalize_path_resolves_as_the_server_does(path: str, expected: str) -> None:
    assert normalize_path(path) == expected


@pytest.mark.parametrize("path", SPELLINGS)
def test_every_spelling_matches_the_row(path: str) -> None:
    row = EndpointTable.build(get_preset("seed")).match(path)
    assert row is not None and row.path == "/video/query/"


class AnyPath(Script):
    """Answers 200 to whatever path arrives, and keeps the paths that did."""

    def next(self, method: str, url: str) -> Reply:
        self.calls.append((method, url))
        return Reply(json=OK_BODY)


@pytest.fixture(params=KINDS)
def make(request: pytest.FixtureRequest, clock: FakeClock) -> Iterator[Factory]:
    yield from drivers(request.param, clock)


ONE_A_MINUTE = {"limits": {"/video/query/": "1/minute"}, "app_limit": None, "on_limit": "raise"}


@pytest.mark.parametrize("path", SPELLINGS)
def test_a_spelling_spends_the_endpoint_window(make: Factory, path: str) -> None:
    script = AnyPath()
    driver = make(script, **ONE_A_MINUTE)
    assert driver.get(HOST + path).status_code == 200
    with pytest.raises(RateLimitExceeded, match="/video/query/"):
        driver.get(CANONICAL)
    assert len(script.calls) == 1


@pytest.mark.parametrize("path", SPELLINGS)
def test_a_spelling_is_held_by_the_endpoint_window(
    make: Factory, clock: FakeClock, path: str
) -> None:
    script = AnyPath()
    driver = make(script, **ONE_A_MINUTE)
    assert driver.get(CANONICAL).status_code == 200
    with pytest.raises(RateLimitExceeded, match="/video/query/"):
        driver.get(HOST + path)
    assert len(script.calls) == 1
    clock.advance(61)
    assert driver.get(HOST + path).status_code == 200
