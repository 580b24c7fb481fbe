"""The demo runs end to end at a high time scale, and fails loudly when calls fail."""

from __future__ import annotations

from pathlib import Path

import pytest

import tiktok_adapter.cli.demo as demo
import tiktok_adapter.cli.demo_command as cli_demo
import tiktok_adapter.cli.output as cli_output
from tiktok_adapter.cli import main
from tiktok_adapter.cli.demo import DemoReport, ideal_span, run_demo
from tiktok_adapter.cli.demo_plot import occupancy
from tiktok_adapter.cli.demo_report import IdealModel, endpoint_ideal, overall_ideal
from tiktok_adapter.pagination import TikTokAPIError


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


# -- the ideal charges the simulation, not the adapter -----------------------------------


@pytest.mark.parametrize(
    ("count", "limits", "widen", "span"),
    [(11, "10/minute", 3.0, 63.0), (25, "10/minute;100/hour", 30.0, 180.0),
     (101, "10/minute;100/hour", 30.0, 3630.0), (10, "10/minute", 30.0, 0.0)],
)  # fmt: skip
def test_ideal_span_widens_every_window(count: int, limits: str, widen: float, span: float) -> None:
    assert ideal_span(count, limits, widen) == span


def test_endpoint_ideal_sends_each_request_once_known_and_admitted() -> None:
    model = IdealModel(margin=3.0, latency=0.5)
    at = [2.0 + i for i in range(25)]  # when they arrived: only their number and first count
    # All known at 2 s: ten at once, ten a widened window (63 s) later, five after another.
    assert endpoint_ideal([2.0] * 25, at, "10/minute", model) == 2 + 63 + 63
    # Known late: a limiter can send nothing before the bot knows of it.
    assert endpoint_ideal([0.0, 100.0, 200.0], [0.0, 100.0, 200.0], "10/minute", model) == 200
    # The 11th, known at 10 s, waits for the first one's window to end.
    assert endpoint_ideal([0.0] * 10 + [10.0], [0.0] * 11, "10/minute", model) == 63
    # With no release of their own (later pages), requests are known at the first arrival;
    # and n requests take at least n - 1 latencies.
    assert endpoint_ideal([], [5.0, 6.0, 7.0], "10/minute", model) == 5 + 2 * 0.5
    assert endpoint_ideal([1.0], [], "10/minute", model) == 0.0


def test_overall_ideal_is_the_slowest_bound() -> None:
    model = IdealModel(margin=0.0, latency=2.0)
    assert overall_ideal(1001, "1000/hour", {"/a/": 50.0}, model) == 3600.0
    assert overall_ideal(100, "1000/hour", {"/a/": 50.0}, model) == 50.0
    assert overall_ideal(10, None, {"/a/": 50.0}, model) == 50.0


def test_the_demo_charges_the_scaled_margin_and_latency() -> None:
    report = run_demo(time_scale=600, workers=2, videos=5)
    assert report.ok, report.errors
    # 50 ms of loopback jitter at x600 is a 30 s margin; the adapter's own 0.03 s is not
    # charged to the simulation.
    assert report.model.margin == pytest.approx(29.97)
    assert report.model.latency > 0
    assert report.ideal >= max(r.ideal for r in report.rows) > 0
    assert len(report.arrivals) == sum(r.sent for r in report.rows)
    assert all(a.time >= 0 and not a.refused for a in report.arrivals)


# -- what the command prints --------------------------------------------------------------


@pytest.mark.parametrize("rich", [True, False])
def test_the_summary_fits_80_columns(
    rich: bool, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A wide terminal, so that nothing but the summary's own layout keeps it narrow.
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setattr(cli_output, "rich_installed", lambda: rich)
    assert main(["demo", "--time-scale", "6000", "--videos", "10"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) > 12
    assert max(len(line.rstrip()) for line in lines) <= 80, "\n".join(lines)
    assert any(line.startswith("makespan ") and "x the ideal" in line for line in lines)


def test_piped_the_demo_prints_progress_lines(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert 1 <= cli_demo.PROGRESS_EVERY <= 5  # "every few seconds"
    monkeypatch.setattr(cli_demo, "PROGRESS_EVERY", 0.0)
    # Slow enough (a few real ticks of 0.2 s) for the live numbers to be reported.
    assert main(["demo", "--time-scale", "200", "--videos", "10"]) == 0
    progress = [line for line in capsys.readouterr().out.splitlines() if line.startswith("simul")]
    assert progress, "no progress line while piped"
    assert all(len(line) <= 80 and ", 429s 0, failed 0 (" in line for line in progress)


def test_progress_line() -> None:
    row = demo.EndpointRow("/a/", 12, 3, 4, 5.0, 0, 1)
    report = DemoReport(rows=(row,), makespan=125.0, ideal=0.0, real_seconds=2.2,
                        time_scale=60, finished=False, errors=())  # fmt: skip
    line = cli_demo.progress_line(report)
    assert line == "simulated 2m05.0s: sent 12, waiting 3, 429s 0, failed 1 (2 s real)"


def test_occupancy_counts_each_trailing_window() -> None:
    # A request leaves the window when the next one at that very moment enters it.
    assert occupancy([0.0, 10.0, 60.0], 60.0) == ([0.0, 10.0, 60.0, 70.0, 120.0], [1, 2, 2, 1, 0])
    assert occupancy([], 60.0) == ([0.0], [0])


def test_demo_plot_writes_a_png(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("matplotlib")
    out = tmp_path / "demo.png"
    assert main(["demo", "--time-scale", "600", "--videos", "10", "--plot", str(out)]) == 0
    assert f"plot: {out}" in capsys.readouterr().out
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000


def test_plot_marks_the_429s(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from tiktok_adapter.cli.demo_plot import plot_report

    sent = [demo.Arrival("/video/list/", float(t), False) for t in range(0, 50, 10)]
    arrivals = (*sent, demo.Arrival("/video/list/", 55.0, True))
    report = DemoReport(rows=(), makespan=60.0, ideal=0.0, real_seconds=1.0, time_scale=60,
                        finished=True, errors=(), arrivals=arrivals,
                        limits={"/video/list/": "5/minute;50/hour"}, app_limit=None)  # fmt: skip
    out = tmp_path / "refused.png"
    plot_report(report, out)
    assert out.read_bytes()[:4] == b"\x89PNG"
