"""The command line: exit codes, help, and each command doing its job."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from conftest import stop_process

import tiktok_adapter.demo as demo
from tiktok_adapter.cli import main
from tiktok_adapter.helpers import TikTokAPIError


def test_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in ("limits", "simulate", "demo"))


@pytest.mark.parametrize("command", ["limits", "simulate", "demo"])
def test_each_command_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([command, "--help"]) == 0
    assert f"tiktok-adapter {command}" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv",
    [[], ["bogus"], ["limits", "--preset", "nope"], ["limits", "--tier", "basic"],
     ["limits", "--preset", "business", "--tier", "gold"], ["demo", "--time-scale", "0"],
     ["demo", "--time-scale", "fast"], ["demo", "--workers", "0"], ["demo", "--videos", "500"],
     ["simulate", "--port", "x"], ["simulate", "--no-header", "colour"]],
)  # fmt: skip
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert "error" in capsys.readouterr().err


def test_limits_prints_the_seed_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["limits"]) == 0
    out = capsys.readouterr().out
    assert "/video/comment/pin/" in out and "5/minute;50/hour" in out and "1000/hour" in out


def test_limits_as_json_for_a_preset(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["limits", "--preset", "business", "--tier", "basic", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["app_limit"].startswith("10/second")
    rows = {r["endpoint"]: r for r in doc["endpoints"]}
    assert rows["/business/comment/list/"]["read_only"] is True


def test_simulate_fails_cleanly_on_a_bad_limits_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["simulate", "--port", "0", "--limits", str(tmp_path / "missing.json")]) == 1
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert main(["simulate", "--port", "0", "--limits", str(bad)]) == 1
    assert "cannot use --limits" in capsys.readouterr().err


def test_the_demo_command_succeeds(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--time-scale", "600", "--videos", "10", "--workers", "3"]) == 0
    out = capsys.readouterr().out
    assert "makespan" in out and "every call succeeded" in out and "/video/comment/list/" in out


def test_the_demo_command_exits_1_when_a_call_fails(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def refused(*args: object, **kwargs: object) -> None:
        raise TikTokAPIError("refused", code="rate_limit_exceeded")

    monkeypatch.setattr(demo, "query_videos", refused)
    assert main(["demo", "--time-scale", "600", "--videos", "5"]) == 1
    assert "1 calls failed" in capsys.readouterr().out


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_python_dash_m_and_exit_codes() -> None:
    assert _run("-m", "tiktok_adapter", "--help").returncode == 0
    assert _run("-m", "tiktok_adapter").returncode == 2
    assert _run("-m", "tiktok_adapter", "limits", "--preset", "nope").returncode == 2


def test_importing_the_package_imports_neither_rich_nor_the_cli() -> None:
    code = (
        "import sys, tiktok_adapter\n"
        "heavy = {'rich', 'tiktok_adapter.cli', 'tiktok_adapter.demo', 'responses'}\n"
        "assert not heavy & set(sys.modules), heavy & set(sys.modules)\n"
    )
    assert _run("-c", code).returncode == 0


def test_simulate_serves_until_terminated(tmp_path: Path) -> None:
    limits = tmp_path / "limits.json"
    limits.write_text(json.dumps({"limits": {"/user/info/": "1/minute"}, "app_limit": None}))
    process = subprocess.Popen(
        [sys.executable, "-m", "tiktok_adapter", "simulate", "--port", "0", "--limits",
         str(limits), "--time-scale", "60", "--no-header", "date"],
        stderr=subprocess.PIPE, text=True, env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        url = line.split(" on ", 1)[1].split(" ", 1)[0]
        with requests.Session() as s:
            first = s.get(url + "v2/user/info/", timeout=5)
            second = s.get(url + "v2/user/info/", timeout=5)
        assert first.status_code == 200 and second.status_code == 429
        assert "Date" not in second.headers
    finally:
        stop_process(process)
    assert process.returncode == 0
    assert process.stderr is not None
    assert "served 2 requests, 1 answered 429" in process.stderr.read()
