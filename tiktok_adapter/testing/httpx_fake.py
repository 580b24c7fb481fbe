"""The simulator for httpx: an ``httpx.MockTransport`` that answers with a FakeTikTok's app.

No ``responses`` is needed: the fake is never started, only its app answers::

    fake = FakeTikTok()
    with tiktok_adapter.httpx.client(**httpx_options(fake)) as client:
        client.get("/v2/user/info/")

The same transport serves ``httpx.AsyncClient`` (``async_client(**httpx_options(fake))``).
"""

from __future__ import annotations

from typing import Any

import httpx

from ._upload import UPLOAD_HOST, upload_target
from .fake import FakeTikTok


def mock_transport(fake: FakeTikTok) -> httpx.MockTransport:
    """A transport (sync and async) answering every request under ``fake.base_url``
    with the simulator, and a v2 fake's upload host; any other URL is a 404, so
    nothing reaches the network."""
    prefix = httpx.URL(fake.base_url)

    def handle(request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.host == UPLOAD_HOST and fake.app.mode.api == "v2":  # Content Posting's chunks
            target = upload_target(url.query.decode(), dict(request.headers), request.read())
            reply = fake.app.handle(request.method, target, dict(request.headers), None)
            return httpx.Response(reply.status, headers=reply.headers, content=reply.body)
        if url.scheme != prefix.scheme or url.host != prefix.host:
            return httpx.Response(404, text=f"the simulator serves {fake.base_url} only")
        path = url.path
        root = prefix.path.rstrip("/")
        if root and path.startswith(root):
            path = path[len(root) :]
        query = url.query.decode()
        target = path + (f"?{query}" if query else "")
        reply = fake.app.handle(request.method, target, dict(request.headers), request.read())
        return httpx.Response(reply.status, headers=reply.headers, content=reply.body)

    return httpx.MockTransport(handle)


def httpx_options(fake: FakeTikTok) -> dict[str, Any]:
    """Keywords for :func:`tiktok_adapter.httpx.client` (or ``async_client``, or a
    transport without ``base_url``) matching the fake's table and clock, on its app."""
    return {**fake.adapter_options(), "transport": mock_transport(fake)}
