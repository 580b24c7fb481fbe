"""README.md and docs/*.md as test files: every ```python block runs, offline, through
pytest-markdown-docs.

Loaded by setup.cfg (``-p readme_support`` with ``pythonpath = tests``), so that
``pytest`` (whose ``testpaths`` name README.md and docs) and ``pytest README.md`` or
``pytest docs/testing.md`` alone collect their Python blocks without the plugin's
``--markdown-docs`` switch, which would also search every .py file of the suite for
docstring examples (pytest 8.4 and later put ``pythonpath`` on ``sys.path`` before they
load ``-p`` plugins). The conventions, which the fences of README.md and of every page of
docs/ follow (the README is one more page here):

* Every block runs in a sandbox (``readme_sandbox``): a temporary working directory
  holding the settings files the docs show (the ``ini`` block with ``[tiktok_adapter]`` as
  ``setup.cfg``, the ``toml`` block as ``pyproject.toml``, ...), no ``TIKTOK_ADAPTER_*``
  variable, and no network: a connection to anything but loopback fails, and so does one to the
  machine's shared Redis on 6379. A block that imports an optional dependency that is
  not installed (requests-cache in the ``nocache`` env) is skipped.
* ``python fixture:readme_context`` runs the block on a started simulator
  (``fake_tiktok``), with the names its prose gives it: ``session``, ``adapter``,
  ``access_token``, ``headers``, ``batches`` and the rest of :func:`_context_names`.
* A block that defines ``def test_...(...)`` is a test as pytest would run it: after the
  block runs, each such function is called with its parameters resolved as fixtures.
* ``python notest`` marks a block that cannot run offline; an HTML comment next to it,
  ``<!-- not run by the tests: REASON -->``, says why (tests/test_readme_shell.py checks
  that every such block has one).
* A new page of docs/ is collected with no change here: every ``docs/*.md`` is a test file.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import ipaddress
import json
import logging
import os
import re
import shutil
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from markdown_it import MarkdownIt
from pytest_markdown_docs._runners import DefaultRunner, register_runner
from pytest_markdown_docs.definitions import FenceTestDefinition
from pytest_markdown_docs.plugin import MarkdownTextFile

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"


def documents() -> list[Path]:
    """README.md and every page of the docs site, each a file of examples."""
    return [README, *sorted(DOCS.glob("*.md"))]


# The machine's own Redis serves other work; tests start a private one (tests/conftest.py).
SHARED_REDIS_PORT = 6379
# What a block may import that an env may lack: the import name and the package to skip on.
OPTIONAL_IMPORTS = {
    "requests_cache": "requests_cache",
    "tiktok_adapter.cache": "requests_cache",
    "httpx": "httpx",
    "tiktok_adapter.httpx": "httpx",
    "aiohttp": "aiohttp",
    "tiktok_adapter.aiohttp": "aiohttp",
    "pytiktok": "pytiktok",
    "redis": "redis",
}
# limits.json, which the README's `Settings.from_mapping(json.load(open("limits.json")))`
# reads: the first form its simulator section describes for `--limits`.
LIMITS_JSON = {"limits": {"/video/query/": "20/minute"}, "app_limit": "1000/hour"}
TEST_FUNCTION_RUNNER = "ReadmeTestFunctions"

_CONTEXT: dict[str, Any] = {}


def readme_fences(info: str) -> list[str]:
    """The contents of the fenced blocks, in README.md and docs/*.md, whose info string
    starts with ``info``."""
    found = []
    for path in documents():
        tokens = MarkdownIt("commonmark").parse(path.read_text("utf8"))
        found += [
            t.content for t in tokens if t.type == "fence" and (t.info.split() or [""])[0] == info
        ]
    return found


# -- collection -----------------------------------------------------------------------------


class ReadmeFile(MarkdownTextFile):  # type: ignore[misc]
    """The Python blocks of README.md or of a page of docs/, each in the sandbox;
    ``test_*`` functions are called."""

    def collect(self) -> Iterator[pytest.Item]:
        for item in super().collect():
            item.add_marker(pytest.mark.usefixtures("readme_sandbox"))
            if "readme_redis" in item.test_definition.fixture_names:
                item.add_marker(pytest.mark.redis)  # so the redis env runs it too
            params = _test_function_parameters(item.test_definition.source)
            if params:
                # The parameters become fixtures of the item, injected as globals by name,
                # and the runner calls each test function with them.
                item.fixturenames = [*item.fixturenames, *params]
                item.test_definition = dataclasses.replace(
                    item.test_definition, runner_name=TEST_FUNCTION_RUNNER
                )
                item.runner_name = TEST_FUNCTION_RUNNER
            yield item


def _test_function_parameters(source: str) -> list[str]:
    names: list[str] = []
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
            names.extend(a.arg for a in node.args.args if a.arg not in names)
    return names


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.resolve() not in documents() or parent.config.option.markdowndocs:
        # With --markdown-docs (not needed here) the plugin collects it itself, unsandboxed.
        return None
    collector: pytest.Collector = ReadmeFile.from_parent(parent, path=file_path)
    return collector


@register_runner()
class ReadmeTestFunctions(DefaultRunner):  # type: ignore[misc]
    """Runs the block, then calls each ``test_*`` function it defined, as pytest would."""

    def runtest(self, test: FenceTestDefinition, args: dict[str, Any], **options: Any) -> None:
        super().runtest(test, args, **options)
        called = 0
        for name, function in list(args.items()):
            if name.startswith("test_") and inspect.isfunction(function):
                function(**{p: args[p] for p in inspect.signature(function).parameters})
                called += 1
        assert called, "the block defines no test function to call"


def pytest_markdown_docs_globals() -> dict[str, Any]:
    return dict(_CONTEXT)


# -- the sandbox ----------------------------------------------------------------------------


@pytest.fixture
def readme_sandbox(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """A clean working directory and environment, and no network, for one README or docs block."""
    source = request.node.test_definition.source
    for module, package in OPTIONAL_IMPORTS.items():
        if _imports(source, module):
            pytest.importorskip(package, reason=f"the example needs {package}")
    for name in list(os.environ):
        if name.startswith("TIKTOK_ADAPTER_") and not name.startswith("TIKTOK_ADAPTER_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("TIKTOK_CACHE_SECRET", "readme-example-secret")
    _write_settings_files(tmp_path)
    monkeypatch.chdir(tmp_path)
    _offline(monkeypatch)
    filters = _logging_filters()
    try:
        yield tmp_path
    finally:
        _restore_logging_filters(filters)
        import tiktok_adapter

        if tiktok_adapter.installed() is not None:  # a block left install() on
            tiktok_adapter.uninstall()
            pytest.fail("the example left tiktok_adapter.install() in place")


def _imports(source: str, module: str) -> bool:
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import) and any(
            a.name == module or a.name.startswith(module + ".") for a in node.names
        ):
            return True
        if isinstance(node, ast.ImportFrom) and (
            node.module == module or (node.module or "").startswith(module + ".")
        ):
            return True
    return False


def _write_settings_files(directory: Path) -> None:
    """The files the Configuration guide reads, with the contents it shows."""
    ini = next(b for b in readme_fences("ini") if "[tiktok_adapter]" in b)
    toml = next(b for b in readme_fences("toml") if "[tool.tiktok_adapter]" in b)
    (directory / "setup.cfg").write_text(ini)
    (directory / "tox.ini").write_text(ini)
    (directory / "pyproject.toml").write_text(toml)
    # `Settings.from_file("app.ini", section="rate_limits")`: the same file, another name.
    (directory / "app.ini").write_text(ini.replace("[tiktok_adapter", "[rate_limits"))
    (directory / "limits.json").write_text(json.dumps(LIMITS_JSON))


def _loopback(host: object) -> bool:
    if not isinstance(host, str):
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Refuse every connection but loopback (and the shared Redis on loopback)."""
    real_getaddrinfo = socket.getaddrinfo
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(host, bytes):
            host = host.decode()
        if host is not None and not _loopback(host):
            raise socket.gaierror(f"doc examples run offline: no lookup of {host!r}")
        return real_getaddrinfo(host, *args, **kwargs)

    def check(address: Any) -> None:
        if isinstance(address, tuple):
            host, port = address[0], address[1]
            if not _loopback(host) or port == SHARED_REDIS_PORT:
                raise ConnectionRefusedError(f"doc examples run offline: not to {address!r}")

    def connect(self: socket.socket, address: Any) -> None:
        check(address)
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        check(address)
        return real_connect_ex(self, address)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)


def _logging_filters() -> dict[object, list[Any]]:
    """Every logger's and root handler's filters: an example may attach redact_tokens()."""
    owners: list[Any] = [logging.getLogger(), *logging.getLogger().handlers]
    owners += [
        logger
        for logger in logging.Logger.manager.loggerDict.values()
        if isinstance(logger, logging.Logger)
    ]
    return {owner: list(owner.filters) for owner in owners}


def _restore_logging_filters(saved: dict[object, list[Any]]) -> None:
    for logger in list(logging.Logger.manager.loggerDict.values()):
        if isinstance(logger, logging.Logger) and logger not in saved:
            logger.filters[:] = []  # created by the example (such as "myapp.http")
    for owner, filters in saved.items():
        owner.filters[:] = filters  # type: ignore[attr-defined]


# -- the names the prose gives an example ---------------------------------------------------


@pytest.fixture
def readme_context(fake_tiktok: Any) -> Iterator[dict[str, Any]]:
    """A started simulator, and the objects the README's prose assumes an example has."""
    import requests

    with requests.Session() as session:
        names = _context_names(fake_tiktok, session)
        _CONTEXT.update(names)
        try:
            yield names
        finally:
            _CONTEXT.clear()


def _context_names(fake: Any, session: Any) -> dict[str, Any]:
    import tiktok_adapter

    adapter = tiktok_adapter.mount(session, **fake.adapter_options())
    access_token = "act.readme-example"
    headers = {"Authorization": f"Bearer {access_token}"}
    video_ids = [v["id"] for v in fake.videos]
    first_video = video_ids[0]
    spam = next(c for c in fake.comments(first_video) if _is_spam(c.text))
    events: list[Any] = []
    base = fake.base_url
    return {
        "session": session,  # "Mount one adapter on your requests.Session"
        "adapter": adapter,
        "access_token": access_token,
        "token": access_token,
        "headers": headers,
        "video_ids": video_ids,
        "batches": [video_ids[i : i + 20] for i in range(0, len(video_ids), 20)],
        "delete_url": f"{base}/v2/video/comment/delete/",
        "list_url": f"{base}/v2/video/list/?fields=id,title",
        "body": {"video_id": first_video, "comment_id": spam.id},
        "print_event": print,
        "alert": events.append,
        "count_retry": events.append,
        "environ": {"MYAPP_RATE_ON_LIMIT": "raise"},
        "run_my_bot": _bot(base, headers),
    }


@pytest.fixture(scope="session")
def readme_redis_server() -> Iterator[str]:
    """The suite's own Redis for the README (TIKTOK_ADAPTER_TEST_REDIS_URL, or a private
    redis-server on a free port), never the machine's shared one."""
    url = os.environ.get("TIKTOK_ADAPTER_TEST_REDIS_URL")
    if url:
        yield url
        return
    from conftest import IN_CI, RedisServer  # the suite's helper (tests/ is on pythonpath)

    if shutil.which("redis-server") is None:
        if IN_CI:
            pytest.fail("Redis is required in CI: redis-server is not on PATH")
        pytest.skip("redis-server is not on PATH")
    server = RedisServer()
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def readme_redis(
    request: pytest.FixtureRequest,
    readme_context: dict[str, Any],
    fake_tiktok: Any,
    readme_redis_server: str,
) -> Iterator[str]:
    """Runs the example on the suite's Redis in place of the host name it shows.

    Afterwards one request goes through the example's ``session``, and its windows
    must be in that Redis under the example's key prefix.
    """
    import redis
    import requests

    item = request.node
    source = item.test_definition.source
    shown = re.findall(r"redis://[\w.\-]+:6379/\d+", source)
    assert shown, "the example names no Redis URL to replace"
    for url in shown:
        source = source.replace(url, readme_redis_server)
    item.test_definition = dataclasses.replace(item.test_definition, source=source)
    (prefix,) = re.findall(r'key_prefix="([^"]+)"', source)
    client = redis.Redis.from_url(readme_redis_server)
    for key in client.scan_iter(match=f"*{prefix}*"):
        client.delete(key)  # this example's own keys, from an earlier run
    # A plain session, as a reader's would be: the context's has the simulator's adapter
    # mounted, and mounting the example's over it would rightly warn (RemountWarning).
    session = readme_context["session"] = _CONTEXT["session"] = requests.Session()
    yield readme_redis_server
    base = fake_tiktok.base_url
    with session:
        assert session.get(f"{base}/v2/user/info/", headers=readme_context["headers"]).ok
    assert any(client.scan_iter(match=f"*{prefix}*")), f"no key under {prefix} in Redis"


@pytest.fixture
def readme_business() -> Iterator[dict[str, Any]]:
    """The simulator in Business mode, an account id, and one of its videos with spam.

    The video has a few "free followers" comments on the first page of 30, so the
    example's hides and deletes stay inside one minute's limits on the real clock.
    """
    from tiktok_adapter.testing import FakeClock, FakeTikTok

    with FakeTikTok(preset="business", clock=FakeClock()) as fake:
        video_id = next(
            v["id"] for v in fake.videos if 1 <= _spam_on_first_page(fake.comments(v["id"])) <= 4
        )
        names = {"business_id": "7000000000000000001", "video_id": video_id}
        _CONTEXT.update(names)
        try:
            yield names
            assert fake.rate_limited == 0
            hidden = {a.comment_id for a in fake.actions if a.action == "hide"}
            assert hidden, "the example hid no spam"
        finally:
            _CONTEXT.clear()


def _spam_on_first_page(comments: list[Any]) -> int:
    top = [c for c in comments if c.parent_comment_id is None]
    if len(top) > 30:
        return 0
    return sum("free followers" in c.text.lower() for c in top)


def _is_spam(text: str) -> bool:
    return any(word in text.lower() for word in ("free", "dm me", "giveaway"))


def _bot(base: str, headers: dict[str, str]) -> Callable[[Any], None]:
    """The README's `run_my_bot`: delete the first video's spam and pin its best comment."""

    def run_my_bot(session: Any) -> None:
        videos = session.post(f"{base}/v2/video/list/?fields=id", json={"max_count": 5})
        video_id = videos.json()["data"]["videos"][0]["id"]
        listed = session.post(
            f"{base}/v2/video/comment/list/?fields=id,text,like_count",
            json={"video_id": video_id, "max_count": 50},
            headers=headers,
        )
        comments = listed.json()["data"]["comments"]
        for comment in comments:
            if _is_spam(comment["text"]):
                body = {"video_id": video_id, "comment_id": comment["id"]}
                session.post(f"{base}/v2/video/comment/delete/", json=body, headers=headers)
        kept = [c for c in comments if not _is_spam(c["text"])]
        best = max(kept, key=lambda c: c["like_count"])
        body = {"video_id": video_id, "comment_id": best["id"], "action": "PIN"}
        session.post(f"{base}/v2/video/comment/pin/", json=body, headers=headers)

    return run_my_bot
