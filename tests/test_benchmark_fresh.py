"""The overhead benchmark opens new connections each round and keeps every limiter's count."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from requests.adapters import HTTPAdapter

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import _scenarios_common as common
import _server


@pytest.fixture
def server() -> Iterator[_server.ServerHandle]:
    with _server.start(in_process=True) as handle:
        handle.reset(None, record=False)
        yield handle


def _pooled(contender: common.Contender) -> int:
    assert contender.session is not None
    mounted = contender.session.adapters.values()
    return sum(len(a.poolmanager.pools) for a in mounted if isinstance(a, HTTPAdapter))


def test_fresh_drops_pooled_connections_and_keeps_the_adapters_windows(
    server: _server.ServerHandle,
) -> None:
    url = server.base_url + common.PATH
    ours = common.adapter(server.base_url, 3, 60)
    plain = common.plain(server.base_url)
    try:
        for c in (ours, plain):
            c.get(url)
            assert _pooled(c) == 1
        ours.get(url)
        for c in (ours, plain):
            c.fresh()
            assert _pooled(c) == 0
        # Two of the window's three went before fresh(): one more is admitted, not three.
        assert ours.get(url).status_code == 200
        assert ours.adapter is not None
        (window,) = ours.adapter.budget().endpoints[common.ROUTE].windows
        assert (window.used, window.remaining) == (3, 0)
        assert plain.get(url).status_code == 200
        assert _pooled(plain) == 1
    finally:
        ours.close()
        plain.close()
