"""Hosts are data: a preset names its production, sandbox and upload hosts, mount() and
install() cover them all, the sandbox counts in windows of its own, the upload host is
covered but spends no window, and ``tiktok-adapter limits`` lists them."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator

import pytest
import requests
import responses

from tiktok_adapter import RateLimitExceeded, TikTokAdapter, install, mount
from tiktok_adapter._install.shared import target_of
from tiktok_adapter.cli import main
from tiktok_adapter.settings import UnknownHostWarning, check_base_url
from tiktok_adapter.testing import FakeClock

# The Business preset limits comment/list to 10 a minute (and the app to 10 a second).
LIMIT = 10
PRODUCTION = "https://business-api.tiktok.com/open_api/v1.3/business/comment/list/"
SANDBOX = "https://sandbox-ads.tiktok.com/open_api/v1.3/business/comment/list/"
UPLOAD = "https://open-upload.tiktokapis.com/video/?upload_id=1"
OK = {"code": 0, "message": "OK", "data": {}}


@pytest.fixture
def mocked() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        for url in (PRODUCTION, SANDBOX):
            mock.get(url, json=OK)
        mock.put(UPLOAD.split("?")[0], json={})
        yield mock


@pytest.fixture
def installed_business(clock: FakeClock) -> Iterator[None]:
    with install(preset="business", on_limit="raise", clock=clock):
        yield


def sent_before_refused(send: requests.Session | None, url: str, tries: int = 2 * LIMIT) -> int:
    """How many calls to ``url`` go out before the adapter refuses one (``tries`` if none)."""
    get = send.get if send is not None else requests.get
    for sent in range(tries):
        try:
            get(url)
        except RateLimitExceeded:
            return sent
    return tries


@pytest.mark.usefixtures("installed_business")
def test_install_limits_sandbox_calls(mocked: responses.RequestsMock) -> None:
    assert sent_before_refused(None, SANDBOX) == LIMIT
    assert len(mocked.calls) == LIMIT  # the refused one never left


@pytest.mark.usefixtures("installed_business")
def test_install_counts_sandbox_and_production_apart(mocked: responses.RequestsMock) -> None:
    assert sent_before_refused(None, SANDBOX) == LIMIT
    # The sandbox spent none of production's quota, and production none of the sandbox's.
    assert sent_before_refused(None, PRODUCTION) == LIMIT
    assert len(mocked.calls) == 2 * LIMIT


def test_mount_limits_sandbox_calls_apart_from_production(
    mocked: responses.RequestsMock, session: requests.Session, clock: FakeClock
) -> None:
    adapter = mount(session, preset="business", on_limit="raise", clock=clock)
    assert sent_before_refused(session, SANDBOX) == LIMIT
    assert sent_before_refused(session, PRODUCTION) == LIMIT
    rows = adapter.stats().endpoints
    assert rows["/business/comment/list/"].sent == LIMIT
    assert rows["sandbox-ads.tiktok.com/business/comment/list/"].sent == LIMIT


def test_an_explicit_base_url_covers_that_host_alone(
    mocked: responses.RequestsMock, session: requests.Session, clock: FakeClock
) -> None:
    base_url = "https://business-api.tiktok.com/"
    mount(session, preset="business", on_limit="raise", clock=clock, base_url=base_url)
    assert sent_before_refused(session, PRODUCTION) == LIMIT
    assert sent_before_refused(session, SANDBOX) == 2 * LIMIT  # as before: not covered


def test_install_covers_every_host_of_the_preset_on_every_stack() -> None:
    # target_of() is what the urllib3, httpx, aiohttp and urllib.request patches cover.
    business = TikTokAdapter(preset="business").limiter
    assert target_of(business, None).hosts == {"business-api.tiktok.com", "sandbox-ads.tiktok.com"}
    posting = TikTokAdapter(preset="content-posting").limiter
    assert target_of(posting, None).hosts == {"open.tiktokapis.com", "open-upload.tiktokapis.com"}
    assert target_of(business, "https://Sandbox-Ads.tiktok.com./x/").hosts == {
        "sandbox-ads.tiktok.com"
    }


def test_the_upload_host_is_covered_but_spends_no_window(
    mocked: responses.RequestsMock, session: requests.Session, clock: FakeClock
) -> None:
    adapter = mount(
        session, preset="content-posting", app_limit="2/minute", on_limit="raise", clock=clock
    )
    for _ in range(5):  # more than the app limit: chunk PUTs spend none of it
        assert session.put(UPLOAD, data=b"chunk").status_code == 200
    assert adapter.stats().endpoints["open-upload.tiktokapis.com"].sent == 5


def test_sandbox_and_upload_hosts_are_tiktok_hosts() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnknownHostWarning)
        for url in ("https://sandbox-ads.tiktok.com/", "https://open-upload.tiktokapis.com/"):
            check_base_url("mount", url)
    with pytest.warns(UnknownHostWarning):
        check_base_url("mount", "https://sandbox-ads.tiktok.example/")


def test_limits_lists_the_hosts(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["limits", "--preset", "business"]) == 0
    out = capsys.readouterr().out
    assert "host business-api.tiktok.com (production)" in out
    assert "host sandbox-ads.tiktok.com (sandbox)" in out
    assert main(["limits", "--preset", "content-posting", "--json"]) == 0
    hosts = json.loads(capsys.readouterr().out)["hosts"]
    assert [(h["host"], h["kind"]) for h in hosts] == [
        ("open.tiktokapis.com", "production"),
        ("open-upload.tiktokapis.com", "upload"),
    ]
