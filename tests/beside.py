"""Tests that mostly wait run in a pytest process of their own, beside the others.

A test marked ``pytest.mark.beside`` spends most of its time waiting, not computing in
the test process: on real windows (a 1 s limit, Redis's own clock), on a Redis Cluster
node's two seconds before it takes writes, on the processes it starts (the console
script, a fresh interpreter, the docs' shell commands). When a run selects such tests
among many others, tests/conftest.py hands them to one more pytest process, started
when collection ends (a command with a head start, tests/head_start.py), and puts in
their place, at the end of the run, an item of the same name that reports what that
process saw: passed, skipped with its reason, or failed with its report. On a machine
with two cores they wait beside the CPU-bound rest instead of before or after it.

The same tests, with the same fixtures, run once; only the process differs. A run of a
few tests (fewer than ``MIN_OTHERS`` others), one under ``--pdb``, or one with
TIKTOK_ADAPTER_TEST_IN_PROCESS=1 runs them in-process as usual.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import head_start
import pytest

MARKER = "beside"
# The report file of the pytest process beside: set in its environment, it also tells
# that process to run every test itself.
REPORT = "TIKTOK_ADAPTER_TEST_BESIDE_REPORT"
IN_PROCESS = "TIKTOK_ADAPTER_TEST_IN_PROCESS"
MIN_OTHERS = 100
JOB = "pytest-beside"


def wanted(config: pytest.Config, items: list[pytest.Item]) -> list[pytest.Item]:
    """The selected tests to run beside, or none when they run in-process."""
    if os.environ.get(REPORT) or os.environ.get(IN_PROCESS) == "1":
        return []
    if config.option.usepdb or config.option.collectonly:
        return []
    marked = [item for item in items if item.get_closest_marker(MARKER)]
    return marked if len(items) - len(marked) >= MIN_OTHERS else []


def hand_over(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Replace the tests to run beside with items that read their outcome, at the end."""
    moved = wanted(config, items)
    if not moved:
        return
    ids = [item.nodeid for item in moved]
    rootdir = Path(str(config.rootpath))
    report_name = "beside-report.json"

    def argv(folder: Path) -> list[str]:
        return [
            sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
            "-p", "beside", "--rootdir", str(rootdir), *ids,
        ]  # fmt: skip

    # The report goes into the job's own folder; the process runs from the root, where
    # setup.cfg (and the node ids) are.
    def env(folder: Path) -> dict[str, str]:
        return {**os.environ, REPORT: str(folder / report_name)}

    job = head_start.job(JOB, argv, timeout=600, env=env, cwd=rootdir)
    proxies: list[pytest.Item] = []
    for item in moved:
        assert item.parent is not None
        proxy = Beside.from_parent(item.parent, name=item.name)
        proxy.job, proxy.report_name = job, report_name
        proxies.append(proxy)
    items[:] = [item for item in items if not item.get_closest_marker(MARKER)] + proxies


class Beside(pytest.Item):
    """A test run by the pytest process beside: its outcome there is its outcome here."""

    job: head_start.Job
    report_name: str

    def runtest(self) -> None:
        done = self.job.result()
        assert self.job.folder is not None
        path = self.job.folder / self.report_name
        outcomes: dict[str, dict[str, str]] = json.loads(path.read_text()) if path.exists() else {}
        outcome = outcomes.get(self.nodeid)
        if outcome is None:
            tail = "\n".join((done.stdout + done.stderr).splitlines()[-40:])
            pytest.fail(
                f"the pytest process beside (exit {done.returncode}) did not report "
                f"{self.nodeid}:\n{tail}",
                pytrace=False,
            )
        if outcome["outcome"] == "skipped":
            pytest.skip(outcome["text"])
        if outcome["outcome"] == "failed":
            pytest.fail(f"in the pytest process beside:\n{outcome['text']}", pytrace=False)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"{self.name} (run beside)"


# -- in the pytest process beside, loaded with -p beside -----------------------------------


_OUTCOMES: dict[str, dict[str, str]] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if not os.environ.get(REPORT):
        return
    seen = _OUTCOMES.setdefault(report.nodeid, {"outcome": "passed", "text": ""})
    if seen["outcome"] == "failed" or report.passed:
        return
    if report.skipped and seen["outcome"] == "passed":
        longrepr: Any = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        seen.update(outcome="skipped", text=str(reason).removeprefix("Skipped: "))
    elif report.failed:
        seen.update(outcome="failed", text=f"{report.when}: {report.longreprtext}")


def pytest_sessionfinish() -> None:
    path = os.environ.get(REPORT)
    if path:
        Path(path).write_text(json.dumps(_OUTCOMES))
