"""The shell examples of README.md and docs/*.md run: each ```console `$ command`, each
```bash / ```sh line.

Every command runs in a subprocess, in a temporary directory, with this interpreter's
scripts first on PATH and no TIKTOK_ADAPTER_* variable set, without network:

* where a page shows output, its stable lines must appear in the command's output
  (box drawing and spacing aside, so rich's tables and plain text compare alike; a line
  with a time of day, which differs on every run, is not compared);
* ``$ cat FILE`` followed by text shows a file: the test writes that text to FILE for
  the commands after it;
* a Redis URL on 6379 is replaced by the suite's private redis-server;
* ``tiktok-adapter simulate`` serves until stopped: the test starts it on a free port,
  sends it one request, stops it with SIGTERM and reads its closing line;
* a command that cannot run offline is named, with the reason, in an HTML comment right
  before its block: ``<!-- not run by the tests: `pip install` needs the package index;
  `tox` runs these very tests -->`` (or, without a `command`, the whole block). The same
  comment gives the reason of a ```python notest block (see readme_support.py).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import head_start
import pytest
import requests
from markdown_it import MarkdownIt
from readme_support import LIMITS_JSON, ROOT, documents

SHELLS = ("console", "bash", "sh", "shell")
MARKER = re.compile(r"<!--\s*not run by the tests:\s*(.*?)\s*-->", re.DOTALL)
SHARED_REDIS = re.compile(r"redis://[\w.\-]+:6379/\d+")
# A time of day ("04:51:49 UTC (in 3599 s)"): what `status` shows changes every run.
VOLATILE = re.compile(r"\d\d:\d\d:\d\d|\(in \d+ s\)")
BOX = re.compile(r"[\u2500-\u257f]")
SERVER = "tiktok-adapter simulate"
# A file the README's commands read without showing it: `simulate --limits limits.json`.
FILES = {"limits.json": LIMITS_JSON}


@dataclass(frozen=True)
class Command:
    text: str
    output: tuple[str, ...] = ()


@dataclass(frozen=True)
class Block:
    page: str  # README.md, docs/testing.md, ...
    line: int
    lang: str
    commands: tuple[Command, ...]
    whole_reason: str | None = None  # the block is not run
    skipped: dict[str, str] = field(default_factory=dict)  # command prefix -> reason

    def reason_to_skip(self, command: str) -> str | None:
        for prefix, reason in self.skipped.items():
            if command.startswith(prefix):
                return reason
        return None


def parse_marker(comment: str) -> tuple[str | None, dict[str, str]]:
    """``not run by the tests: `cmd` reason; ...`` or ``not run by the tests: reason``."""
    found = MARKER.search(comment)
    if found is None:
        return None, {}
    text = " ".join(found.group(1).split())
    parts = [p.strip() for p in text.split(";") if p.strip()]
    named = [re.fullmatch(r"`([^`]+)`\s+(.+)", p) for p in parts]
    if all(named):
        return None, {m.group(1): m.group(2) for m in named if m}
    return text, {}


@dataclass(frozen=True)
class Fence:
    page: str
    line: int
    lang: str
    info: str
    content: str
    comment: str  # the HTML comment right before it, or ""


def fences() -> list[Fence]:
    """Every fence of README.md and docs/*.md, in page order."""
    found = []
    for path in documents():
        page = path.relative_to(ROOT).as_posix()
        tokens = MarkdownIt("commonmark").parse(path.read_text("utf8"))
        for i, token in enumerate(tokens):
            if token.type != "fence" or token.map is None:
                continue
            before = tokens[i - 1] if i else None
            comment = before.content if before is not None and before.type == "html_block" else ""
            lang = (token.info.split() or [""])[0]
            found.append(Fence(page, token.map[0] + 1, lang, token.info, token.content, comment))
    return found


def shell_blocks() -> list[Block]:
    blocks = []
    for fence in fences():
        line, lang, content, comment = fence.line, fence.lang, fence.content, fence.comment
        if lang not in SHELLS:
            continue
        whole, skipped = parse_marker(comment)
        if lang == "console":
            commands: list[Command] = []
            for text in content.splitlines():
                if text.startswith("$ "):
                    commands.append(Command(text[2:].strip()))
                elif commands:
                    last = commands[-1]
                    commands[-1] = Command(last.text, (*last.output, text))
        else:
            commands = [
                Command(segment.strip())
                for text in content.splitlines()
                if text.strip() and not text.lstrip().startswith("#")
                # `a && b`: each command on its own, so that a marker can name one of them.
                for segment in _strip_comment(text).split("&&")
            ]
        blocks.append(Block(fence.page, line, lang, tuple(commands), whole, skipped))
    return blocks


def _strip_comment(line: str) -> str:
    return re.sub(r"\s+#\s.*$", "", line)


def _needs_redis(block: Block) -> bool:
    return any(SHARED_REDIS.search(c.text) for c in block.commands)


# Commands that take seconds of real time, nearly all of it waiting (the demo runs six
# simulated minutes at x60): a bash or sh block that runs one starts when collection ends
# and runs beside the rest of the suite (tests/head_start.py); its test runs last.
LONG = ("tiktok-adapter demo",)
SCRIPT_TIMEOUT = 180


def _params() -> list[object]:
    params = []
    for b in shell_blocks():
        marks = [pytest.mark.redis] if _needs_redis(b) else []
        job = _head_start(b)
        if job is not None:
            marks.append(pytest.mark.head_start(job.key))
        elif b.whole_reason is None:
            marks.append(pytest.mark.beside)  # it waits on the commands it runs
        params.append(pytest.param(b, id=f"{b.page}:line{b.line}", marks=marks))
    return params


def _head_start(block: Block) -> head_start.Job | None:
    """The block's script as a command with a head start, if it runs a long command."""
    if block.whole_reason is not None or block.lang == "console" or _needs_redis(block):
        return None
    lines = script_lines(block)
    if not any(line.startswith(LONG) for line in lines):
        return None
    return head_start.job(
        f"{block.page}:line{block.line}",
        lambda folder: ["bash", "-c", script_body(lines)],
        timeout=SCRIPT_TIMEOUT,
        env=environment(),
        files={name: json.dumps(content) for name, content in FILES.items()},
    )


def script_lines(block: Block) -> list[str]:
    """The commands of a bash or sh block that run, as lines of one script (no Redis URL
    replaced: the test does that)."""
    return [c.text for c in block.commands if block.reason_to_skip(c.text) is None]


def normalized(line: str) -> str:
    return " ".join(BOX.sub(" ", line).split())


def stable_lines(output: tuple[str, ...]) -> list[str]:
    """The shown output worth comparing: not a border, not a time of day."""
    lines = [normalized(line) for line in output]
    return [
        line
        for line in lines
        if line and not VOLATILE.search(line) and not re.fullmatch(r"[-\s]*", line)
    ]


def environment() -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not (k.startswith("TIKTOK_ADAPTER_") and not k.startswith("TIKTOK_ADAPTER_TEST_"))
    }
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env["COLUMNS"] = "80"
    return env


@pytest.mark.parametrize("block", _params())
def test_readme_shell_block(block: Block, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    if block.whole_reason is not None:
        pytest.skip(f"{block.page} line {block.line}: {block.whole_reason}")
    redis_url = request.getfixturevalue("redis_url") if _needs_redis(block) else None
    for name, content in FILES.items():
        (tmp_path / name).write_text(json.dumps(content))
    script: list[str] = []  # bash and sh blocks run as one script, so exports carry
    ran = 0
    for command in block.commands:
        text = command.text
        if block.reason_to_skip(text) is not None:
            continue
        if redis_url is not None:
            text = SHARED_REDIS.sub(redis_url, text)
        if block.lang != "console":
            script.append(text)
        elif text.startswith("cat ") and command.output:
            (tmp_path / text.split()[1]).write_text("\n".join(command.output) + "\n")
        elif text.startswith(SERVER):
            run_server(text, tmp_path)
        else:
            # The output names the URL it was given: the suite's server, as the command.
            shown = [SHARED_REDIS.sub(redis_url, line) if redis_url else line
                     for line in command.output]  # fmt: skip
            run_and_compare(text, shown, tmp_path)
        ran += 1
    if script:
        job = head_start.JOBS.get(f"{block.page}:line{block.line}")
        assert job is None or script == script_lines(block)
        check_script(script, job.result() if job is not None else run_script(script, tmp_path))
    assert block.commands, f"{block.page} line {block.line}: a shell block without a command"
    if not ran:
        reasons = "; ".join(f"`{p}` {r}" for p, r in block.skipped.items())
        pytest.skip(f"{block.page} line {block.line}: {reasons}")


def run_and_compare(command: str, shown: tuple[str, ...], cwd: Path) -> None:
    done = subprocess.run(
        command, shell=True, cwd=cwd, env=environment(), capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, f"$ {command}\n{done.stdout}\n{done.stderr}"
    actual = normalized(done.stdout + "\n" + done.stderr)
    missing = [line for line in stable_lines(shown) if line not in actual]
    assert not missing, f"$ {command}: the docs show lines it did not print: {missing}"


def script_body(lines: list[str]) -> str:
    """One bash script, stopping at the first failure; exports are then checked."""
    body = "set -euo pipefail\n" + "\n".join(lines) + "\n"
    if any(line.startswith("export TIKTOK_ADAPTER_") for line in lines):
        # The variables a block exports must be a configuration the package accepts.
        body += 'python -c "from tiktok_adapter import Settings; print(Settings.from_env())"\n'
    return body


def run_script(lines: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", script_body(lines)], cwd=cwd, env=environment(), capture_output=True,
        text=True, timeout=SCRIPT_TIMEOUT,
    )  # fmt: skip


def check_script(lines: list[str], done: subprocess.CompletedProcess[str]) -> None:
    assert done.returncode == 0, f"{script_body(lines)}\n{done.stdout}\n{done.stderr}"


def run_server(command: str, cwd: Path) -> None:
    """Start the simulator on a free port, ask it once, stop it, read its closing line."""
    words = command.split()
    if "--port" in words:
        words[words.index("--port") + 1] = "0"  # the README's 8080 may be taken
    else:
        words += ["--port", "0"]
    process = subprocess.Popen(
        words, cwd=cwd, env=environment(), stderr=subprocess.PIPE, stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert process.stderr is not None
        banner = process.stderr.readline()
        found = re.search(r"on (http://127\.0\.0\.1:\d+/)", banner)
        assert found, f"{command}: no banner, got {banner!r}"
        answer = requests.get(found.group(1) + "v2/user/info/", timeout=10)
        assert answer.status_code < 500, answer.text
    finally:
        process.send_signal(signal.SIGTERM)
        _, rest = process.communicate(timeout=30)
    assert process.returncode == 0, rest
    assert "served 1 requests" in rest, rest


# -- the markers themselves --------------------------------------------------------------


PYTHON = ("python", "py", "python3")


def test_every_python_block_not_run_says_why() -> None:
    unexplained = [
        f"{f.page}:{f.line}"
        for f in fences()
        if f.lang in PYTHON and "notest" in f.info.split() and parse_marker(f.comment)[0] is None
    ]
    assert not unexplained, f"```python notest without a reason: {unexplained}"


def test_every_marker_stands_right_before_a_block() -> None:
    """A marker anywhere else would be ignored, and its block run after all."""
    placed = [f.comment for f in fences() if MARKER.search(f.comment)]
    everywhere = [m for path in documents() for m in MARKER.findall(path.read_text("utf8"))]
    assert len(placed) == len(everywhere), "a `not run by the tests` comment away from a block"
    running = [
        f"{f.page}:{f.line}"
        for f in fences()
        if f.lang in PYTHON and MARKER.search(f.comment) and "notest" not in f.info.split()
    ]
    assert not running, f"{running}: a reason not to run, but no `notest`"


def test_the_docs_pages_are_collected() -> None:
    """Every guide is a test file: a page left out would run none of its examples."""
    pages = {f.page for f in fences()}
    assert "README.md" in pages
    assert {"docs/quickstart.md", "docs/testing.md", "docs/configuration.md"} <= pages


def test_every_named_command_is_in_its_block() -> None:
    """A marker that names a command no longer there would silently skip nothing."""
    stale = [
        (block.page, block.line, prefix)
        for block in shell_blocks()
        for prefix in block.skipped
        if not any(c.text.startswith(prefix) for c in block.commands)
    ]
    assert not stale, f"markers naming no command: {stale}"


def test_markers_parse() -> None:
    assert parse_marker("<!-- not run by the tests: `pip install` no index; `tox` it is us -->")[
        1
    ] == {"pip install": "no index", "tox": "it is us"}
    assert parse_marker("<!-- not run by the tests: runs for minutes -->") == (
        "runs for minutes",
        {},
    )
    assert stable_lines(("┃ endpoint ┃ window ┃", "│ app │ 1 │ 04:51:49 UTC (in 3599 s) │")) == [
        "endpoint window"
    ]


@pytest.mark.beside  # waits on processes of its own: run beside the others (tests/beside.py)
def test_the_logging_example_runs_in_a_plain_script(tmp_path: Path) -> None:
    """Under pytest the root logger has handlers; a plain script's has none, and an example
    that reached for ``handlers[0]`` raised IndexError there (issue #26)."""
    (example,) = [
        f.content
        for f in fences()
        if f.lang in PYTHON and "redact_tokens(" in f.content and "addFilter" in f.content
    ]
    done = subprocess.run(
        [sys.executable, "-c", example], cwd=tmp_path, env=environment(), capture_output=True,
        text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
