"""The benchmark suite still runs end to end (tiny sizes; its numbers are not judged)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

RUN = Path(__file__).resolve().parent.parent / "benchmarks" / "run.py"


def test_benchmark_suite_runs_and_writes_its_report(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(RUN), "--tiny", "--output-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["mode"] == "tiny"
    for scenario in ("overhead", "compliance", "fleet", "margin", "cpu", "cache"):
        assert scenario in results
    contenders = {row["contender"] for row in results["compliance"]["rows"]}
    assert {"tiktok_adapter (memory)", "seed guide", "urllib3 Retry"} <= contenders
    # The adapter itself never loses a request, whatever the sizes.
    ours = [r for r in results["compliance"]["rows"] if r["contender"] == "tiktok_adapter (memory)"]
    assert ours and all(r["lost"] == 0 for r in ours)
    assert {g["verdict"] for g in results["goals"]} <= {"PASS", "FAIL", "NOT RUN"}
    report = (tmp_path / "RESULTS.md").read_text()
    assert "## Goals" in report and "## Compliance" in report
