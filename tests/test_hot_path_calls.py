"""A plain 200 costs at most 15 calls into the package (issue #24, item 7).

Counted as the benchmark counts them (benchmarks/_package_calls.py): every "call" event of
a Python function whose code lives in the package, on the calling thread, for one GET
after a few to warm the route caches. A count, not a timing: the verdict does not
depend on how loaded the machine is.
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from pathlib import Path
from types import FrameType

import requests
import responses

import tiktok_adapter

PACKAGE = str(Path(tiktok_adapter.__file__).resolve().parent) + os.sep
INFO = "https://open.tiktokapis.com/v2/user/info/?fields=open_id"
GOAL = 15


def calls_for_one_get(session: requests.Session) -> Counter[str]:
    for _ in range(3):
        session.get(INFO)
    calls: Counter[str] = Counter()

    def profile(frame: FrameType, event: str, arg: object) -> None:
        code = frame.f_code
        if event == "call" and code.co_filename.startswith(PACKAGE):
            calls[f"{code.co_filename[len(PACKAGE) :]}:{code.co_name}"] += 1

    sys.setprofile(profile)
    try:
        response = session.get(INFO)
    finally:
        sys.setprofile(None)
    assert response.status_code == 200
    return calls


def test_a_plain_200_on_default_settings_takes_at_most_15_calls() -> None:
    session = requests.Session()
    tiktok_adapter.mount(session)
    with responses.RequestsMock() as mock:
        mock.add("GET", INFO, json={"data": {}, "error": {"code": "ok"}})
        calls = calls_for_one_get(session)
    assert sum(calls.values()) <= GOAL, dict(calls)
    # The count is of the adapter's own work: it sent, admitted and observed.
    assert {"_requests/adapter.py:send", "storage/memory.py:acquire"} <= set(calls)
