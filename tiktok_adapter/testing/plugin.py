"""The pytest plugin: ``fake_tiktok`` (a started simulator) and ``tiktok_session``; for
httpx, ``fake_tiktok_app`` and ``tiktok_httpx``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    import httpx
    import requests

    from .fake import FakeTikTok


@pytest.fixture
def fake_tiktok() -> Iterator[FakeTikTok]:
    """A started FakeTikTok on the seed's limits, counting on ``fake_tiktok.clock`` (a FakeClock).

    Mount an adapter on the same clock and table with
    ``mount(session, **fake_tiktok.adapter_options())``, or take ``tiktok_session``.
    """
    try:
        import responses  # noqa: F401 - only to fail with a clear message when it is missing
    except ImportError:
        pytest.fail(
            "the fake_tiktok fixture needs the 'responses' package: "
            "pip install 'tiktok-adapter[testing]'"
        )
    from ..core.clock import FakeClock
    from .fake import FakeTikTok

    with FakeTikTok(clock=FakeClock()) as fake:
        yield fake


@pytest.fixture
def tiktok_session(fake_tiktok: FakeTikTok) -> Iterator[requests.Session]:
    """A ``requests.Session`` with the adapter mounted to match ``fake_tiktok``.

    Same clock and limit table as the fake, so waits cost no real time; the session
    is closed after the test. Read the adapter back with ``tiktok_session.get_adapter(url)``.
    """
    import requests

    from .. import mount

    with requests.Session() as session:
        mount(session, **fake_tiktok.adapter_options())
        yield session


@pytest.fixture
def tiktok_httpx(fake_tiktok_app: FakeTikTok) -> Iterator[httpx.Client]:
    """An ``httpx.Client`` limited by :class:`~tiktok_adapter.httpx.TikTokTransport`,
    answered by ``fake_tiktok_app`` (no ``responses`` needed), on its clock and table.

    Read the transport back with ``tiktok_adapter.httpx.transport_of(tiktok_httpx)``.
    """
    from ..httpx import client
    from .httpx_fake import httpx_options

    with client(**httpx_options(fake_tiktok_app)) as limited:
        yield limited


@pytest.fixture
def fake_tiktok_app() -> FakeTikTok:
    """A FakeTikTok that is not started (it answers only through the httpx fixtures)."""
    from ..core.clock import FakeClock
    from .fake import FakeTikTok

    return FakeTikTok(clock=FakeClock())
