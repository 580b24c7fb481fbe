"""The overhead benchmark's interval: how far the median of per-round ratios may move."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

from overhead import median_interval


def test_rounds_that_all_agree_leave_no_doubt() -> None:
    assert median_interval([1.04] * 60) == [1.04, 1.04]


def test_the_interval_holds_the_median_and_narrows_with_more_rounds() -> None:
    spread = [float(v) for v in range(1, 100)]  # evenly from 1 to 99: median 50
    low, high = median_interval(spread)
    # The median of n rounds drawn evenly over a width of 99 moves by 99 / (2 sqrt(n))
    # (sd) between runs: 5.0 for 99 rounds, a 95% interval of about 50 +- 9.8.
    assert 39 <= low < 50 < high <= 61
    more = [v for v in spread for _ in range(4)]  # 396 rounds alike: sd 2.5, half as wide
    low4, high4 = median_interval(more)
    assert 44 <= low4 < 50 < high4 <= 56
    assert (high4 - low4) < (high - low) * 0.7
