"""The pytest plugin that gives users a ``fake_tiktok`` fixture."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .fake import FakeTikTok


@pytest.fixture
def fake_tiktok() -> Iterator[FakeTikTok]:
    """A started FakeTikTok on the seed's limits, counting on ``fake_tiktok.clock`` (a FakeClock).

    Mount an adapter on the same clock and table with
    ``mount(session, **fake_tiktok.adapter_options())``.
    """
    try:
        import responses  # noqa: F401 - only to fail with a clear message when it is missing
    except ImportError:
        pytest.fail("the fake_tiktok fixture needs the 'responses' package: pip install responses")
    from .._clock import FakeClock
    from .fake import FakeTikTok

    with FakeTikTok(clock=FakeClock()) as fake:
        yield fake
