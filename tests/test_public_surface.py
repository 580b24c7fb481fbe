"""The public surface is small and stable: at most 25 names at the top, each one real,
and the names that moved still resolve, with a warning that names their new home."""

from __future__ import annotations

import importlib

import pytest

import tiktok_adapter

# Written by hand: the entry points, settings, errors, priorities, stats and budget, the
# presets, the hook events, the refusal policy and the token redactor.
EXPECTED = {
    "TikTokAdapter", "mount", "install", "uninstall", "installed", "Settings",
    "TikTokAdapterError", "ConfigurationError", "RateLimitExceeded", "QuotaExhausted",
    "StorageUnavailable", "Priority", "priority", "Stats", "EndpointStats", "Budget",
    "EndpointBudget", "WindowBudget", "PRESETS", "Preset", "Event", "EventKind",
    "RefusalPolicy", "TikTokRefusals", "redact_tokens",
}  # fmt: skip


def test_the_top_level_exports_at_most_25_names_and_each_resolves() -> None:
    assert set(tiktok_adapter.__all__) == EXPECTED
    assert len(tiktok_adapter.__all__) <= 25
    for name in tiktok_adapter.__all__:
        assert getattr(tiktok_adapter, name) is not None


@pytest.mark.parametrize(
    ("name", "home"),
    [
        ("FakeClock", "tiktok_adapter.testing"),
        ("OPEN_API_BASE", "tiktok_adapter.adapter"),
        ("PaginationError", "tiktok_adapter.pagination"),
        ("parse_reset", "tiktok_adapter.core.headers"),
    ],
)
def test_a_name_that_moved_still_resolves_with_a_warning(name: str, home: str) -> None:
    with pytest.warns(DeprecationWarning, match=home):
        value = getattr(tiktok_adapter, name)
    assert value is getattr(importlib.import_module(home), name)


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError):
        tiktok_adapter.no_such_name  # noqa: B018


def test_each_transport_raises_its_librarys_flavour_of_one_documented_base() -> None:
    import httpx
    import requests

    from tiktok_adapter import adapter
    from tiktok_adapter import httpx as for_httpx

    base = tiktok_adapter.RateLimitExceeded
    assert base.__bases__ == (tiktok_adapter.TikTokAdapterError,)
    assert issubclass(adapter.RateLimitExceeded, base)
    assert issubclass(adapter.RateLimitExceeded, requests.RequestException)
    assert issubclass(adapter.QuotaExhausted, tiktok_adapter.QuotaExhausted)
    assert issubclass(for_httpx.RateLimitExceeded, base)
    assert issubclass(for_httpx.RateLimitExceeded, httpx.HTTPError)
