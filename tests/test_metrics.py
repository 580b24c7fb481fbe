"""Prometheus export against a real registry."""

from __future__ import annotations

import pytest
import requests
import responses

from tiktok_adapter import mount
from tiktok_adapter.testing import FakeClock

prometheus_client = pytest.importorskip("prometheus_client")

INFO = "https://open.tiktokapis.com/v2/user/info/"


def test_instrument_exports_counters_waits_and_budget(
    clock: FakeClock, mocked: responses.RequestsMock
) -> None:
    from tiktok_adapter.metrics import instrument

    mocked.get(INFO, json={})
    session = requests.Session()
    adapter = mount(session, clock=clock, default_priority="critical", safety_margin=0)
    registry = instrument(adapter, prometheus_client.CollectorRegistry())
    for _ in range(11):
        session.get(INFO)
    value = registry.get_sample_value
    assert value("tiktok_adapter_sent_total", {"endpoint": "/user/info/"}) == 11
    assert value("tiktok_adapter_waited_total", {"endpoint": "/user/info/"}) == 1
    assert value("tiktok_adapter_wait_seconds_count", {"endpoint": "/user/info/"}) == 1
    assert value("tiktok_adapter_wait_seconds_sum", {"endpoint": "/user/info/"}) == 60
    remaining = {"endpoint": "/user/info/", "window": "10/minute"}
    assert value("tiktok_adapter_budget_remaining", remaining) == 9
    assert (
        value("tiktok_adapter_budget_remaining", {"endpoint": "app", "window": "1000/hour"}) == 989
    )
    text = prometheus_client.generate_latest(registry).decode()
    assert "tiktok_adapter_rate_limited_total" in text
