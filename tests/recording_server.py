"""A loopback HTTP server that answers every GET itself and records its target: what the
httpx install tests use as a proxy (and as a site) to see where a request went."""

from __future__ import annotations

import http.server
import socket
import threading

BODY = b'{"data": {"user": {}}, "error": {"code": "ok", "message": ""}}'


class Recorder:
    """An HTTP server on loopback that answers every GET itself and keeps its target: a
    proxied http:// request names the whole URL, a direct one its path. A CONNECT (an
    https:// request through the proxy) is kept and refused."""

    def __init__(self, family: socket.AddressFamily = socket.AF_INET) -> None:
        seen = self.seen = list[str]()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                seen.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(BODY)))
                self.end_headers()
                self.wfile.write(BODY)

            def do_CONNECT(self) -> None:
                seen.append("CONNECT " + self.path)
                self.send_response(502)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        class Server(http.server.ThreadingHTTPServer):
            address_family = family
            block_on_close = False

        host = "::1" if family == socket.AF_INET6 else "127.0.0.1"
        self.server = Server((host, 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://{host}:{self.port}" if host != "::1" else f"http://[::1]:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.01,), daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()
