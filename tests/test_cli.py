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

import tiktok_adapter.cli.demo as demo
from tiktok_adapter.cli import main
from tiktok_adapter.pagination import TikTokAPIError


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
    missing = tmp_path / "missing.json"
    assert main(["simulate", "--port", "0", "--limits", str(missing)]) == 2
    assert capsys.readouterr().err == (
        f"tiktok-adapter simulate: error: argument --limits: '{missing}' does not exist\n"
    )
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert main(["simulate", "--port", "0", "--limits", str(bad)]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith(f"tiktok-adapter simulate: error: argument --limits: '{bad}': not JSON")


def test_the_demo_command_succeeds(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--time-scale", "600", "--videos", "10", "--workers", "3"]) == 0
    out = capsys.readouterr().out
    assert "makespan" in out and "every call succeeded" in out and "/video/comment/list/" in out
    # The ratio is against an ideal that charges the scaling, and the output says so.
    assert "margin that loopback jitter needs at x600" in " ".join(out.split())
    assert "measures the adapter, not the time scale" in " ".join(out.split())


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


@pytest.mark.beside  # waits on processes of its own: run beside the others (tests/beside.py)
def test_python_dash_m_and_exit_codes() -> None:
    assert _run("-m", "tiktok_adapter", "--help").returncode == 0
    assert _run("-m", "tiktok_adapter").returncode == 2
    assert _run("-m", "tiktok_adapter", "limits", "--preset", "nope").returncode == 2


@pytest.mark.beside  # waits on processes of its own: run beside the others (tests/beside.py)
def test_importing_the_package_imports_neither_rich_nor_the_cli() -> None:
    code = (
        "import sys, tiktok_adapter\n"
        "heavy = {'rich', 'tiktok_adapter.cli', 'tiktok_adapter.cli.demo', 'responses'}\n"
        "assert not heavy & set(sys.modules), heavy & set(sys.modules)\n"
    )
    assert _run("-c", code).returncode == 0


@pytest.mark.beside  # waits on processes of its own: run beside the others (tests/beside.py)
def test_simulate_serves_until_terminated(tmp_path: Path) -> None:
    limits = tmp_path / "limits.json"
    limits.write_text(json.dumps({"limits": {"/user/info/": "1/minute"}, "app_limit": None}))
    process = subprocess.Popen(
        [sys.executable, "-m", "tiktok_adapter", "simulate", "--port", "0", "--limits",
         str(limits), "--time-scale", "60", "--rate-headers", "--no-header", "date"],
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
        assert second.headers["Retry-After"] and "X-RateLimit-Remaining" in first.headers
    finally:
        stop_process(process)
    assert process.returncode == 0
    assert process.stderr is not None
    assert "served 2 requests, 1 answered 429" in process.stderr.read()


# -- after a plain `pip install .`: no rich, no responses, no matplotlib ------------------

# Runs the CLI in a fresh interpreter in which importing any of the named packages fails,
# as it does when the extras are not installed.
_WITHOUT = """
import importlib.machinery, sys
BLOCKED = set(sys.argv[1].split(","))
class Absent:
    # The path finder, blind to the blocked packages: import fails, find_spec says None.
    @staticmethod
    def find_spec(name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            return None
        return importlib.machinery.PathFinder.find_spec(name, path, target)
sys.meta_path[:] = [
    Absent if f is importlib.machinery.PathFinder else f for f in sys.meta_path
]
for name in list(sys.modules):
    if name.split(".")[0] in BLOCKED:
        del sys.modules[name]
from tiktok_adapter.cli import main
sys.exit(main(sys.argv[2:]))
"""
_EXTRAS = "rich,responses,matplotlib,redis,requests_cache,prometheus_client"


def _without(blocked: str, *argv: str) -> subprocess.CompletedProcess[str]:
    return _run("-c", _WITHOUT, blocked, *argv)


@pytest.mark.beside  # waits on processes of its own: run beside the others (tests/beside.py)
@pytest.mark.parametrize(
    ("argv", "expected"),
    [(["limits"], "/video/comment/pin/     5/minute;50/hour    no         yes"),
     (["limits", "--preset", "research"], "app limit 1000/day@utc covers /research/ (not /oauth/"),
     (["limits", "--json"], '"app_limit": "1000/hour"'),
     (["status"], "app                     1000/hour     0       1000       -"),
     (["demo", "--time-scale", "600", "--videos", "5", "--workers", "2"],
      "every call succeeded")],
)  # fmt: skip
def test_every_command_works_in_plain_text_without_the_extras(
    argv: list[str], expected: str
) -> None:
    result = _without(_EXTRAS, *argv)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert expected in result.stdout


@pytest.mark.beside  # waits on processes of its own: run beside the others (tests/beside.py)
def test_simulate_works_without_the_extras() -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", _WITHOUT, _EXTRAS, "simulate", "--port", "0"],
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stderr is not None
        url = process.stderr.readline().split(" on ", 1)[1].split(" ", 1)[0]
        assert requests.get(url + "v2/user/info/", timeout=5).status_code == 200
    finally:
        stop_process(process)
    assert process.returncode == 0
    assert process.stderr is not None
    rest = process.stderr.read()
    assert "served 1 requests, 0 answered 429" in rest and "Traceback" not in rest


@pytest.mark.beside  # waits on processes of its own: run beside the others (tests/beside.py)
def test_demo_plot_without_matplotlib_names_the_extra(tmp_path: Path) -> None:
    out = tmp_path / "demo.png"
    result = _without("matplotlib", "demo", "--time-scale", "600", "--plot", str(out))
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "tiktok-adapter: error: --plot needs matplotlib, which is not installed: "
        "pip install 'tiktok-adapter[plot]'"
    ]
    assert result.stdout == ""  # it says so before running the demo, not after
    assert not out.exists()


# -- limits --config ----------------------------------------------------------------------

_INI = """\
[tiktok_adapter]
preset = research
on_limit = raise

[tiktok_adapter.limits]
/research/video/query/ = 5/minute
/custom/report/ = 2/second
"""


def _limits_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, object]:
    assert main(["limits", "--json", *argv]) == 0
    doc: dict[str, object] = json.loads(capsys.readouterr().out)
    return doc


@pytest.mark.parametrize("name", ["setup.cfg", "tox.ini", "adapter.ini"])
def test_limits_reads_an_ini_settings_file(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / name
    config.write_text(_INI)
    doc = _limits_json(capsys, "--config", str(config))
    assert doc["preset"] == "research" and doc["settings_file"] == str(config)
    assert doc["app_limit"] == "1000/day@utc"
    assert doc["app_covers"] == ["/research/"]
    rows = {r["endpoint"]: r for r in doc["endpoints"]}  # type: ignore[attr-defined]
    assert rows["/research/video/query/"]["limits"] == "5/minute"  # merged over the preset
    assert rows["/research/user/info/"]["limits"] == "1000/day@utc"  # the preset's own
    assert rows["/research/user/followers/"]["counts_toward_app"] is False
    assert rows["/custom/report/"] == {
        "endpoint": "/custom/report/", "limits": "2/second", "read_only": False,
        "counts_toward_app": False,  # outside /research/, which the research app limit covers
    }  # fmt: skip


def test_limits_reads_pyproject_and_flags_override_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "pyproject.toml"
    config.write_text(
        '[tool.tiktok_adapter]\npreset = "business"\ntier = "basic"\napp_limit = "500/hour"\n'
        '[tool.tiktok_adapter.limits]\n"/business/get/" = "3/minute"\n'
    )
    doc = _limits_json(capsys, "--config", str(config))
    assert doc["preset"] == "business (basic)" and doc["app_limit"] == "500/hour"
    rows = {r["endpoint"]: r["limits"] for r in doc["endpoints"]}  # type: ignore[attr-defined]
    assert rows["/business/get/"] == "3/minute"
    doc = _limits_json(capsys, "--config", str(config), "--preset", "seed")
    assert doc["preset"] == "seed"  # the file's tier is dropped with its preset
    rows = {r["endpoint"]: r["limits"] for r in doc["endpoints"]}  # type: ignore[attr-defined]
    assert rows["/video/query/"] == "20/minute;200/hour"


def test_limits_with_a_config_prints_the_table_and_its_source(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "setup.cfg"
    config.write_text(_INI)
    assert main(["limits", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert f"\nsettings file: {config}\n" in out
    assert "app limit 1000/day@utc covers /research/ (not /oauth/, /oauth2/)" in out
    assert "/custom/report/" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [(["--config", "{missing}"], "does not exist"),
     (["--config", "{bad}"], "unknown key 'bogus'"),
     (["--section", "other"], "--section names a part of a settings file")],
)  # fmt: skip
def test_limits_config_errors_are_one_line_and_exit_2(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.cfg"
    bad.write_text("[tiktok_adapter]\nbogus = 1\n")
    paths = {"missing": str(tmp_path / "nope.cfg"), "bad": str(bad)}
    assert main(["limits", *(a.format(**paths) for a in argv)]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and message in err and "Traceback" not in err


def test_limits_shows_the_seed_app_limit_covering_every_path(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["limits"]) == 0
    assert "app limit 1000/hour covers every path (not /oauth/, /oauth2/)" in (
        capsys.readouterr().out
    )


def test_a_package_error_is_one_redacted_line_and_exit_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import tiktok_adapter.cli.status as status
    from tiktok_adapter.exceptions import StorageUnavailable

    def down(args: object) -> int:
        raise StorageUnavailable(
            "cannot reach redis://:hunter2@cache.internal:6379/0\n(timeout)",
            retry_after=0, endpoint="app", limit="storage",
        )  # fmt: skip

    monkeypatch.setattr(status, "run", down)
    assert main(["status"]) == 1
    assert capsys.readouterr().err == (
        "tiktok-adapter: error: cannot reach redis://:***@cache.internal:6379/0 (timeout)\n"
    )


def test_a_table_too_wide_for_the_terminal_is_never_cut(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # rich, in 80 columns, would shorten "/research/video/comment/list/" with an ellipsis.
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["limits", "--preset", "research"]) == 0
    out = capsys.readouterr().out
    assert "/research/user/reposted_videos/  1000/day@utc" in out and "…" not in out


def test_demo_plot_into_a_missing_folder_fails_before_running(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("matplotlib")
    target = tmp_path / "nope" / "demo.png"
    assert main(["demo", "--plot", str(target)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        f"tiktok-adapter demo: error: argument --plot: '{target}': the folder {target.parent} "
        "does not exist\n"
    )


@pytest.mark.beside  # waits on processes of its own: run beside the others (tests/beside.py)
def test_status_on_redis_without_the_redis_client_names_the_extra() -> None:
    result = _without(_EXTRAS, "status", "--storage", "redis://127.0.0.1:1/0")
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert line.startswith("tiktok-adapter: error: ") and "tiktok-adapter[redis]" in line


_NOISY = """
import logging, sys
import tiktok_adapter.cli.status as status
from tiktok_adapter.cli import main
from tiktok_adapter.exceptions import StorageUnavailable

def down(args):
    try:
        raise ConnectionError("refused")
    except ConnectionError:  # as redis-py does for a cluster it cannot reach
        logging.getLogger("redis.cluster").exception("An exception occurred")
    logging.getLogger("tiktok_adapter.adapter").warning("falling back\\nto memory", exc_info=True)
    raise StorageUnavailable("storage unavailable", retry_after=0, endpoint="app", limit="-")

status.run = down
sys.argv = ["tiktok-adapter", "status"]
sys.exit(main())
"""


@pytest.mark.beside  # waits on processes of its own: run beside the others (tests/beside.py)
def test_the_console_script_prints_no_library_log_or_traceback() -> None:
    result = _run("-c", _NOISY)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "tiktok-adapter: WARNING: falling back to memory",  # the package's own, on one line
        "tiktok-adapter: error: storage unavailable",
    ]


@pytest.mark.beside  # waits on processes of its own: run beside the others (tests/beside.py)
def test_simulate_runs_the_preset_a_limits_file_names(tmp_path: Path) -> None:
    limits = tmp_path / "limits.json"
    table = {"/research/user/info/": "5/day@utc"}
    limits.write_text(json.dumps({"preset": "research", "limits": table}))
    process = subprocess.Popen(
        [sys.executable, "-m", "tiktok_adapter", "simulate", "--port", "0", "--limits",
         str(limits)],
        stderr=subprocess.PIPE, text=True, env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    rows: list[str] = []
    try:
        assert process.stderr is not None
        banner = process.stderr.readline()
        for line in iter(process.stderr.readline, ""):  # one row per endpoint, then it serves
            rows.append(line)
            if "/research/user/following/" in line:
                break
    finally:
        stop_process(process)
    assert "preset research + 1 rows from" in banner and "app limit 1000/day@utc" in banner
    info = [row.split() for row in rows if "/research/user/info/" in row]
    assert info == [["/research/user/info/", "5/day@utc"]]
    # The preset's other rows are kept: the file's rows merge over them.
    assert any("/research/video/query/" in row and "1000/day@utc" in row for row in rows)
