"""The simulator as a real HTTP server on loopback, for clients in any language.

A v2 simulator also serves Content Posting's upload host: the ``upload_url`` a
FILE_UPLOAD init returns points back at this server, under ``/upload/``, so a client
that follows it PUTs its chunks here. A request whose Host header names the upload host
is taken as one too, as :class:`FakeTikTok` takes every request to that host.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from ..core.endpoints import EndpointTable, get_preset
from ..core.hosts import host_name
from ._app import PRESET, Reply, TikTokApp
from ._upload import MAX_CHUNK, UPLOAD_HOST, upload_target

_QUERY = re.compile(r"\?\S*")
logger = logging.getLogger(__name__)

# Bodies past this are not API calls; refusing them keeps a stray client from eating memory.
_MAX_BODY = 1024 * 1024
# A chunk is at most 64 MB, and the last one takes the rest: under twice that.
_MAX_CHUNK_BODY = 2 * MAX_CHUNK
# Where this server takes the upload host's PUTs, and the upload_url it hands out.
UPLOAD_PREFIX = "/upload/"
_UPLOAD_ORIGIN = f"https://{UPLOAD_HOST}/"


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.1 keeps connections open, so a client's pool is reused as against the real API.
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle on, the body waits for the
    # client's delayed ACK (40 ms on Linux), which at a time scale of 60 is seconds.
    disable_nagle_algorithm = True
    server: _Server

    def _serve(self) -> None:
        upload = self.server.uploads and self._is_upload()
        length = int(self.headers.get("Content-Length") or 0)
        if length > (_MAX_CHUNK_BODY if upload else _MAX_BODY):
            self.send_error(413)
            return
        body = self.rfile.read(length) if length > 0 else b""
        headers = dict(self.headers.items())
        app = self.server.app
        if upload:  # the core reads the chunk's Content-Range, Content-Type and length
            target = upload_target(urlsplit(self.path).query, headers, body)
            reply = app.handle(self.command, target, headers, None)
        else:
            reply = app.handle(self.command, self.path, headers, body)
            if self.server.uploads and self.command == "POST" and b'"upload_url"' in reply.body:
                reply = self._upload_here(reply)
        # send_response_only: the app writes its own Date, on the simulated clock.
        self.send_response_only(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve

    def _is_upload(self) -> bool:
        if urlsplit(self.path).path.startswith(UPLOAD_PREFIX):
            return True
        return host_name(f"http://{self.headers.get('Host', '')}") == UPLOAD_HOST

    def _upload_here(self, reply: Reply) -> Reply:
        """The init's answer, its upload_url moved from the upload host to this server
        (at the address the client used, as its Host header says)."""
        try:
            answer = json.loads(reply.body)
        except ValueError:
            return reply
        data = answer.get("data") if isinstance(answer, dict) else None
        if not isinstance(data, dict):
            return reply
        url = data.get("upload_url")
        if not isinstance(url, str) or not url.startswith(_UPLOAD_ORIGIN):
            return reply
        here = self.headers.get("Host") or self.server.authority
        data["upload_url"] = f"http://{here}{UPLOAD_PREFIX}{url[len(_UPLOAD_ORIGIN) :]}"
        return dataclasses.replace(reply, body=json.dumps(answer).encode())

    def log_message(self, format: str, *args: Any) -> None:
        # The request line's query may carry an access token: log the path only.
        shown = [_QUERY.sub("?...", a) if isinstance(a, str) else a for a in args]
        logger.debug("%s " + format, self.address_string(), *shown)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's backlog is 5: ten clients connecting at once lose SYNs, and the
    # kernel's retry holds those requests back a whole second (then three), which looks
    # like the limiter's doing. A real API's front end takes a burst of connections.
    request_queue_size = 128
    app: TikTokApp
    uploads: bool  # a v2 simulator serves the upload host's PUTs too
    authority: str  # host:port, for an upload_url when a request names no Host


class SimulatorServer:
    """Serves ``app`` on ``host:port`` (port 0 picks a free one) from a background thread."""

    def __init__(self, app: TikTokApp, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self._server = _Server((host, port), _Handler)
        self._server.app = app
        self._server.uploads = app.mode.api == "v2"
        self._server.authority = self.url.split("/")[2]
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """The base URL to mount an adapter on, with its trailing slash."""
        host = str(self._server.server_address[0])
        return f"http://{host}:{self.port}/"

    def start(self) -> SimulatorServer:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                args=(0.05,),  # a short poll lets close() return promptly
                name="tiktok-simulator",
                daemon=True,
            )
            self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve on the calling thread until interrupted."""
        self._server.serve_forever()

    def close(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


@dataclass(frozen=True)
class LimitFile:
    """A ``--limits`` file: the preset it names (if any), its rows, and its app limit.

    ``limits`` holds only the file's own rows; the simulator merges them over the
    preset's table, as the adapter does. ``app_limit`` is ``PRESET`` when the file
    leaves it to the preset.
    """

    preset: str | None
    limits: dict[str, str]
    app_limit: str | None


def read_limit_file(path: str | Path) -> LimitFile:
    """Read ``{"preset": ..., "limits": {...}, "app_limit": ...}`` or a bare table.

    Raises ValueError naming the file and what is wrong with it.
    """
    raw = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(raw, Mapping):
        raise ValueError(f"{path}: expected a JSON object")
    if not {"limits", "app_limit", "preset"} & raw.keys():
        raw = {"limits": raw}
    preset = raw.get("preset")
    if preset is not None:
        get_preset(str(preset))  # an unknown name fails here, naming the valid ones
    extra = raw.get("limits", {})
    if not isinstance(extra, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in extra.items()
    ):
        raise ValueError(f"{path}: 'limits' must map endpoint paths to strings like '10/minute'")
    app_limit = raw.get("app_limit", PRESET)
    if app_limit is not None and not isinstance(app_limit, str):
        raise ValueError(f"{path}: 'app_limit' must be a string like '1000/hour' or null")
    return LimitFile(None if preset is None else str(preset), dict(extra), app_limit)


def load_limits(path: str | Path) -> tuple[dict[str, str], str | None]:
    """The effective table and app limit of a limits file, over its preset (or the seed's).

    Kept for callers that run the seed's family; :func:`read_limit_file` also gives the
    preset, so that the simulator can run it.
    """
    spec = read_limit_file(path)
    preset = get_preset(spec.preset or "seed")
    table = {e.path: e.limits for e in EndpointTable.build(preset, spec.limits)}
    app_limit = preset.app_limit if spec.app_limit == PRESET else spec.app_limit
    return table, app_limit
