"""The command line's sharp edges (issue #26): a bad value is one line and exit 2, before
any work; `status` says when it found nothing; `--version`.

Every case runs in-process through ``main`` and fails before a demo or a server runs, so
none costs more than a parse, except the one subprocess that runs ``python -m``.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
import requests
import responses
from conftest import RedisServer

import tiktok_adapter
import tiktok_adapter.cli.demo as demo
import tiktok_adapter.testing as testing
import tiktok_adapter.testing.server as server
from tiktok_adapter import mount
from tiktok_adapter.cli import main

INFO = "https://open.tiktokapis.com/v2/user/info/"


@pytest.fixture
def no_demo(monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo must not run: each error here is found before it would start."""

    def ran(**kwargs: object) -> None:
        raise AssertionError("the demo ran before its arguments were checked")

    monkeypatch.setattr(demo, "run_demo", ran)


@pytest.fixture
def no_server(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nor may the simulator be built or serve (it would serve until killed)."""

    def started(*args: object, **kwargs: object) -> None:
        raise AssertionError("the simulator started before its arguments were checked")

    monkeypatch.setattr(testing, "TikTokApp", started)
    monkeypatch.setattr(server, "SimulatorServer", started)


def _one_line(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err  # no usage block, no traceback
    return lines[0]


# -- usage errors: exit 2, one line naming the option, the value and what is valid --------


@pytest.mark.usefixtures("no_demo")
@pytest.mark.parametrize(
    ("name", "said"),
    [("out.txt", "'{path}': a .txt file cannot be drawn; name a .png, .svg or .pdf file"),
     ("demo", "'{path}': no extension names a format; name a .png, .svg or .pdf file"),
     ("folder.png", "'{path}' is a folder; name a file in it")],
    ids=["txt", "no-extension", "folder"],
)  # fmt: skip
def test_demo_plot_in_a_format_it_cannot_draw_is_refused_before_the_run(
    name: str, said: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "folder.png").mkdir()
    path = tmp_path / name
    assert main(["demo", "--plot", str(path)]) == 2
    message = said.format(path=path)
    assert _one_line(capsys) == f"tiktok-adapter demo: error: argument --plot: {message}"


def test_a_plot_file_of_a_drawable_format_passes_the_check(tmp_path: Path) -> None:
    from tiktok_adapter.cli.demo_command import check_plot_path

    for name in ("demo.png", "demo.SVG", "demo.pdf"):
        check_plot_path(str(tmp_path / name))  # raises nothing


@pytest.mark.usefixtures("no_server")
@pytest.mark.parametrize("port", ["99999", "65536", "-1"])
def test_simulate_on_a_port_out_of_range_is_a_usage_error(
    port: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["simulate", "--port", port]) == 2
    assert _one_line(capsys) == (
        f"tiktok-adapter simulate: error: argument --port: '{port}' is not a port; "
        "use 0 to 65535 (0 picks a free one)"
    )


@pytest.mark.usefixtures("no_server")
@pytest.mark.parametrize(
    ("table", "said"),
    [({"limits": {"/user/info/": "ten/minute"}},
      "limits['/user/info/']: 'ten/minute' is not a limit such as '10/minute'"),
     ({"limits": {"/user/info/": "0/minute"}},
      "limits['/user/info/']: '0/minute' is not a limit such as '10/minute'"),
     ({"app_limit": "lots"}, "app_limit: 'lots' is not a limit such as '10/minute'"),
     ({"preset": "nope"}, "preset='nope' is not a known preset; valid presets: business, "
      "content-posting, display-v2, research, seed"),
     ([1], "expected a JSON object")],
    ids=["not-a-limit", "zero", "app-limit", "preset", "not-an-object"],
)  # fmt: skip
def test_simulate_with_a_bad_limits_file_is_a_usage_error(
    table: object, said: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "limits.json"
    path.write_text(json.dumps(table))
    assert main(["simulate", "--port", "0", "--limits", str(path)]) == 2
    assert _one_line(capsys) == (
        f"tiktok-adapter simulate: error: argument --limits: '{path}': {said}"
    )


@pytest.mark.usefixtures("no_server")
def test_simulate_with_a_limits_file_it_cannot_read_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["simulate", "--port", "0", "--limits", str(tmp_path)]) == 2
    assert _one_line(capsys) == (
        f"tiktok-adapter simulate: error: argument --limits: '{tmp_path}' is a folder, "
        "not a JSON file"
    )


def test_simulate_on_an_address_of_another_machine_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # 192.0.2.0/24 is for documentation (RFC 5737): never an address of this machine.
    assert main(["simulate", "--port", "0", "--host", "192.0.2.1"]) == 2
    assert _one_line(capsys) == (
        "tiktok-adapter simulate: error: argument --host: '192.0.2.1' is not an address of "
        "this machine"
    )


def test_simulate_on_a_name_that_does_not_resolve_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def unknown(*args: object) -> None:  # what binding to an unknown name raises
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(server, "SimulatorServer", unknown)
    assert main(["simulate", "--port", "0", "--host", "nosuch.invalid"]) == 2
    assert _one_line(capsys) == (
        "tiktok-adapter simulate: error: argument --host: 'nosuch.invalid' is not a name "
        "this machine resolves"
    )


def test_simulate_on_a_port_in_use_is_one_line_and_exit_1(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with socket.socket() as taken:  # a failure of the moment, not a bad value
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["simulate", "--port", str(port)]) == 1
    line = _one_line(capsys)
    assert line.startswith(f"tiktok-adapter: error: cannot listen on 127.0.0.1:{port}: ")
    assert line.endswith("(another server? --port 0 picks a free one)")


@pytest.mark.usefixtures("no_demo", "no_server")
@pytest.mark.parametrize(
    ("argv", "line"),
    [([], "tiktok-adapter: error: choose a command (limits, simulate, demo, status); see "
          "tiktok-adapter --help"),
     (["limits", "--preset", "nope"], "tiktok-adapter limits: error: argument --preset: invalid "
      "choice: 'nope'"),
     (["demo", "--workers", "65"], "tiktok-adapter demo: error: argument --workers: '65' is "
      "more than 64, the most the demo runs"),
     (["demo", "--videos", "91"], "tiktok-adapter demo: error: argument --videos: '91' is "
      "more than 90, the most the demo moderates"),
     (["demo", "--seed", "x"], "tiktok-adapter demo: error: argument --seed: 'x' is not a "
      "whole number"),
     (["simulate", "--videos", "100001"], "tiktok-adapter simulate: error: argument --videos: "
      "'100001' is more than 100000, the most the simulator builds"),
     (["status", "--storage", "nosuch://x"], "tiktok-adapter: error: storage_uri='nosuch://x' "
      "is not supported")],
    ids=["no-command", "choice", "workers", "demo-videos", "seed", "simulate-videos",
         "storage"],
)  # fmt: skip
def test_every_usage_error_is_one_line(
    argv: list[str], line: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    assert _one_line(capsys).startswith(line)


def test_an_internal_error_keeps_its_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    import tiktok_adapter.cli.status as status

    def broken(args: object) -> int:
        raise RuntimeError("a bug")

    monkeypatch.setattr(status, "run", broken)
    with pytest.raises(RuntimeError, match="a bug"):
        main(["status"])


# -- status: says when it found nothing ---------------------------------------------------


def test_status_on_memory_says_it_found_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    note = (
        "no windows found under key prefix 'mine' in memory://, which only this command "
        "uses; give the fleet's store with --storage"
    )
    assert main(["status", "--key-prefix", "mine"]) == 0
    assert note in capsys.readouterr().out.splitlines()
    assert main(["status", "--key-prefix", "mine", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["found"], report["note"]) == (False, note)


@pytest.mark.redis
def test_status_under_a_typod_prefix_says_so_without_the_password(
    locked_server: tuple[RedisServer, str],
    mocked: responses.RequestsMock,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, locked = locked_server  # a server of its own, with the password hunter2
    key_prefix = "cli-edges"
    shown = locked.replace(":hunter2@", ":***@")
    mocked.get(INFO, json={})
    with requests.Session() as session:
        adapter = mount(session, storage_uri=locked, key_prefix=key_prefix)
        assert session.get(INFO).status_code == 200
        adapter.close()

    assert main(["status", "--storage", locked, "--key-prefix", key_prefix, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["found"] is True and "note" not in report

    typo = key_prefix + "x"
    note = (
        f"no windows found under key prefix '{typo}' in {shown}; are --key-prefix and "
        "--preset the fleet's?"
    )
    assert main(["status", "--storage", locked, "--key-prefix", typo]) == 0
    captured = capsys.readouterr()
    assert note in captured.out.splitlines() and captured.err == ""
    assert main(["status", "--storage", locked, "--key-prefix", typo, "--json"]) == 0
    out = capsys.readouterr().out
    report = json.loads(out)
    assert (report["found"], report["note"]) == (False, note)
    assert "hunter2" not in out


# -- --version ----------------------------------------------------------------------------


def test_version_prints_the_installed_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"tiktok-adapter {metadata.version('tiktok-adapter')}\n"


def test_version_outside_an_install_is_the_packages_own(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def missing(name: str) -> str:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "version", missing)
    assert main(["--version"]) == 0
    expected = f"tiktok-adapter {tiktok_adapter.__version__} (not installed)\n"
    assert capsys.readouterr().out == expected


@pytest.mark.beside  # waits on processes of its own: run beside the others (tests/beside.py)
def test_python_dash_m_prints_the_version() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tiktok_adapter", "--version"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0 and result.stderr == ""
    assert result.stdout == f"tiktok-adapter {metadata.version('tiktok-adapter')}\n"
