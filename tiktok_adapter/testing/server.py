"""The simulator as a real HTTP server on loopback, for clients in any language."""

from __future__ import annotations

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

from ..core.endpoints import EndpointTable, get_preset
from ._app import PRESET, TikTokApp

_QUERY = re.compile(r"\?\S*")
logger = logging.getLogger(__name__)

# Bodies past this are not API calls; refusing them keeps a stray client from eating memory.
_MAX_BODY = 1024 * 1024


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.1 keeps connections open, so a client's pool is reused as against the real API.
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle on, the body waits for the
    # client's delayed ACK (40 ms on Linux), which at a time scale of 60 is seconds.
    disable_nagle_algorithm = True
    server: _Server

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > _MAX_BODY:
            self.send_error(413)
            return
        body = self.rfile.read(length) if length > 0 else b""
        reply = self.server.app.handle(self.command, self.path, dict(self.headers.items()), body)
        # send_response_only: the app writes its own Date, on the simulated clock.
        self.send_response_only(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve

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


class SimulatorServer:
    """Serves ``app`` on ``host:port`` (port 0 picks a free one) from a background thread."""

    def __init__(self, app: TikTokApp, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self._server = _Server((host, port), _Handler)
        self._server.app = app
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
