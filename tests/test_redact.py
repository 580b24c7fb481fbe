"""redact_tokens(): other libraries' DEBUG logs show no token, from a real loopback request."""

from __future__ import annotations

import io
import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

import tiktok_adapter
from tiktok_adapter._log_redaction import DEFAULT_LOGGERS, TokenRedactingFilter, redact_text
from tiktok_adapter.testing import FakeClock

TOKEN = "act.SECRET-loopback-token-0123!4567"
QUOTED = "act.SECRET-loopback-token-0123%214567"  # as requests puts it in a URL
OK = json.dumps({"data": {"user": {}}, "error": {"code": "ok", "message": ""}}).encode()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(OK)))
        self.end_headers()
        self.wfile.write(OK)

    do_GET = do_POST = _answer

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the server's own request log is not under test


@pytest.fixture
def server() -> Iterator[str]:
    """A plain HTTP server on a free loopback port: requests really pass through urllib3."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    # A short poll: shutdown() waits for the loop's next look, 0.5 s by default.
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


@pytest.fixture(autouse=True)
def detach() -> Iterator[None]:
    """Take the filter off every logger and handler afterwards, so tests stay independent."""
    yield
    loggers = [logging.getLogger()] + [
        lg for lg in logging.Logger.manager.loggerDict.values() if isinstance(lg, logging.Logger)
    ]
    for holder in [*loggers, *(h for lg in loggers for h in lg.handlers)]:
        for flt in [f for f in holder.filters if isinstance(f, TokenRedactingFilter)]:
            holder.removeFilter(flt)


def shown(caplog: pytest.LogCaptureFixture) -> str:
    """Everything a handler would write: each formatted message and the captured text."""
    return "\n".join([r.getMessage() for r in caplog.records] + [caplog.text])


def test_without_the_filter_urllib3_logs_the_token(
    server: str, caplog: pytest.LogCaptureFixture
) -> None:
    # The premise: urllib3's connection pool writes the full request line at DEBUG.
    caplog.set_level(logging.DEBUG)
    requests.get(f"{server}/v2/user/info/", params={"access_token": TOKEN}, timeout=5)
    assert QUOTED in shown(caplog)


def test_urllib3_debug_lines_of_a_real_request_are_redacted(
    server: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    tiktok_adapter.redact_tokens()
    with requests.Session() as session:
        session.get(f"{server}/v2/user/info/", params={"access_token": TOKEN}, timeout=5)
        session.post(f"{server}/v2/video/query/?fields=id&access_token={TOKEN}", timeout=5)
    lines = [r.getMessage() for r in caplog.records if r.name == "urllib3.connectionpool"]
    assert any("/v2/user/info/?access_token=REDACTED" in m for m in lines)
    assert any("/v2/video/query/?fields=id&access_token=REDACTED" in m for m in lines)
    assert TOKEN not in shown(caplog) and QUOTED not in shown(caplog)
    assert "act.SECRET" not in shown(caplog)


def test_requests_cache_debug_lines_are_redacted(
    server: str, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    pytest.importorskip("requests_cache")
    from tiktok_adapter.cache import cached_session

    caplog.set_level(logging.DEBUG)
    tiktok_adapter.redact_tokens()
    with cached_session(
        str(tmp_path / "c"), backend="memory", base_url=f"{server}/", clock=FakeClock()
    ) as session:
        for _ in range(2):
            session.get(f"{server}/v2/user/info/", params={"access_token": TOKEN}, timeout=5)
    cache_lines = [r.getMessage() for r in caplog.records if r.name.startswith("requests_cache")]
    assert any("access_token=REDACTED" in m for m in cache_lines)  # it did log the URL
    assert "act.SECRET" not in shown(caplog)


def test_it_is_idempotent_and_returns_the_one_filter() -> None:
    first = tiktok_adapter.redact_tokens()
    assert tiktok_adapter.redact_tokens() is first
    for name in ("urllib3", "urllib3.connectionpool", "requests_cache.session"):
        assert logging.getLogger(name).filters.count(first) == 1
    assert set(DEFAULT_LOGGERS) >= {"urllib3.connectionpool", "requests_cache.policy.expiration"}


def test_extra_loggers_and_their_existing_children_are_covered(
    caplog: pytest.LogCaptureFixture,
) -> None:
    child = logging.getLogger("myapp.http.client")
    caplog.set_level(logging.DEBUG)
    tiktok_adapter.redact_tokens("myapp")
    child.debug("sending %r", {"Authorization": f"Bearer {TOKEN}", "Accept": "*/*"})
    logging.getLogger("myapp").debug("body %s", b'{"access_token": "' + TOKEN.encode() + b'"}')
    assert "act.SECRET" not in shown(caplog)
    assert "'Authorization': 'Bearer REDACTED'" in caplog.text
    assert '"access_token": "REDACTED"' in caplog.text


@pytest.fixture
def written() -> Iterator[tuple[logging.Handler, io.StringIO]]:
    """A handler of our own on a logger tree of our own (no pytest handler formats first)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    top = logging.getLogger("isolated-tree")
    top.addHandler(handler)
    top.propagate = False
    top.setLevel(logging.DEBUG)
    yield handler, stream
    top.removeHandler(handler)
    top.propagate = True


def test_on_a_handler_it_covers_every_logger_and_the_traceback(
    written: tuple[logging.Handler, io.StringIO],
) -> None:
    handler, stream = written
    handler.addFilter(tiktok_adapter.redact_tokens())
    other = logging.getLogger("isolated-tree.some.library")  # a child nobody named
    other.info("GET https://x.example/a?access_token=%s&b=1", TOKEN)
    other.warning("headers: Access-Token: %s", TOKEN)
    try:
        raise ValueError("failed: https://x.example/a?access_token=" + TOKEN)
    except ValueError:
        other.exception("request failed")
    text = stream.getvalue()
    assert "act.SECRET" not in text
    assert "a?access_token=REDACTED&b=1" in text
    assert "Access-Token: REDACTED" in text
    assert "ValueError: failed: https://x.example/a?access_token=REDACTED" in text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("GET /v2/user/info/?fields=x&access_token=act.a%21b HTTP/1.1",
         "GET /v2/user/info/?fields=x&access_token=REDACTED HTTP/1.1"),
        ("access_token=act.a&cursor=0", "access_token=REDACTED&cursor=0"),
        ("access%5Ftoken=act.a&x=1", "access%5Ftoken=REDACTED&x=1"),
        ('{"access_token": "act.a", "x": 1}', '{"access_token": "REDACTED", "x": 1}'),
        ("Authorization: Bearer act.a", "Authorization: Bearer REDACTED"),
        ("authorization=bearer act.a", "authorization=bearer REDACTED"),
        ("{'Access-Token': 'act.a'}", "{'Access-Token': 'REDACTED'}"),
        ("Authorization: Basic dXNlcjpw", "Authorization: Basic REDACTED"),
        ("X-API-Key: k1, api_key=k2", "X-API-Key: REDACTED, api_key=REDACTED"),
        ("bearer act.a", "bearer REDACTED"),
        ("Authorization: Bearer REDACTED", "Authorization: Bearer REDACTED"),
        ("Starting new HTTPS connection (1): open.tiktokapis.com:443",
         "Starting new HTTPS connection (1): open.tiktokapis.com:443"),
        ("my_access_token_count=3", "my_access_token_count=3"),
    ],
)  # fmt: skip
def test_redact_text(text: str, expected: str) -> None:
    assert redact_text(text) == expected
