"""The demo runs end to end at a high time scale, and fails loudly when calls fail."""

from __future__ import annotations

import pytest

import tiktok_adapter.demo as demo
from tiktok_adapter.demo import DemoReport, ideal_span, run_demo
from tiktok_adapter.helpers import TikTokAPIError


@pytest.mark.parametrize(
    ("count", "limits", "span"),
    [(0, "10/minute", 0.0), (1, "10/minute", 0.0), (10, "10/minute", 0.0),
     (11, "10/minute", 60.0), (25, "10/minute;100/hour", 120.0),
     (101, "10/minute;100/hour", 3600.0), (5, None, 0.0)],
)  # fmt: skip
def test_ideal_span(count: int, limits: str | None, span: float) -> None:
    assert ideal_span(count, limits) == span


def test_the_demo_runs_end_to_end() -> None:
    ticks: list[DemoReport] = []
    report = run_demo(time_scale=600, workers=4, seed=1, videos=20, on_tick=ticks.append, tick=0.05)
    assert report.ok, report.errors
    assert report.finished and report.failed == 0
    assert report.real_seconds < 15
    sent = {r.endpoint: r.sent for r in report.rows}
    assert sent["/user/info/"] == 1 and sent["/video/query/"] == 1
    assert sent["/video/comment/list/"] >= 10 and sent["/video/comment/delete/"] >= 1
    assert sent["/video/comment/pin/"] >= 1 and sent["/video/comment/create/"] >= 1
    # The bot outruns the table, so the adapter must have made it wait.
    assert sum(r.waited for r in report.rows) > 0
    assert report.makespan >= report.ideal > 0
    assert ticks and not ticks[0].finished


def test_a_call_that_fails_makes_the_demo_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    def refused(*args: object, **kwargs: object) -> None:
        raise TikTokAPIError("refused", code="rate_limit_exceeded")

    monkeypatch.setattr(demo, "query_videos", refused)
    report = run_demo(time_scale=600, videos=5)
    assert not report.ok
    assert [r.failed for r in report.rows if r.endpoint == "/video/query/"] == [1]
    assert report.errors == ("/video/query/: refused",)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="videos"):
        run_demo(videos=0)
    with pytest.raises(ValueError, match="workers"):
        run_demo(workers=0)
