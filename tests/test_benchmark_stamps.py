"""The benchmarks' admission stamps leave the adapter as users have it.

The margin and fleet scenarios wrap the store to stamp each admission into its request
(benchmarks/_stamps.py). A late answer finds its admission by the store that counted it,
so a wrapper seen by the admitter alone turned off the lateness protection (a late
request's entries move) in every stamped run.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import requests
import responses

from tiktok_adapter import mount
from tiktok_adapter.testing import FakeClock

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import _stamps

URL = "https://open.tiktokapis.com/v2/bench/"


@pytest.mark.parametrize("stamped", [False, True])
def test_a_stamped_adapter_still_moves_a_late_answers_entry(stamped: bool) -> None:
    clock = FakeClock()
    answers = iter([0.5])  # the first answer comes half a second after its admission

    def answer(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        clock.advance(next(answers, 0.0))
        return 200, {}, "{}"

    with requests.Session() as session, responses.RequestsMock() as mocked:
        mocked.add_callback(responses.GET, URL, callback=answer)
        adapter = mount(session, limits={"/bench/": "5 per 1 second"}, app_limit=None,
                        clock=clock)  # fmt: skip
        if stamped:
            _stamps.stamp_admissions(adapter)
        for _ in range(6):
            assert session.get(URL).status_code == 200
    # By hand: the first entry, admitted at 0, moves by its 0.5 s of lateness less the
    # 0.03 s margin, to 0.47; four more go at 0.5; the sixth waits until 0.47 + 1 s
    # + the margin = 1.5, that is 1.0 s. Unmoved, it would go at 1.03, after 0.53 s.
    assert sum(clock.sleeps) == pytest.approx(1.0)
