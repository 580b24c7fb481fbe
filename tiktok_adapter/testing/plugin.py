"""The pytest plugin: ``fake_tiktok`` (a started simulator) and ``tiktok_session``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
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
    from .._clock import FakeClock
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
