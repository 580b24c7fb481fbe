"""The loopback server (``tiktok-adapter simulate``) serves Content Posting's upload host:
a FILE_UPLOAD init hands out an upload_url on the server itself, and a real HTTP client
that follows it PUTs its chunks there (206 per chunk, 201 for the last, 416 for a range
that is no chunk), after which the post completes."""

from __future__ import annotations

import http.client
import json
import os
import re
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from conftest import stop_process

from tiktok_adapter.testing import FakeClock, SimulatorServer, TikTokApp

MB = 1024 * 1024
BEARER = {"Authorization": "Bearer act.creator"}


@pytest.fixture
def app(clock: FakeClock) -> TikTokApp:
    return TikTokApp(clock=clock, preset="content-posting")


@pytest.fixture
def server(app: TikTokApp) -> Iterator[SimulatorServer]:
    with SimulatorServer(app) as running:
        yield running


def init(base: str, size: int, chunk: int, count: int) -> dict[str, Any]:
    body = {"post_info": {"title": "hi", "privacy_level": "SELF_ONLY"},
            "source_info": {"source": "FILE_UPLOAD", "video_size": size,
                            "chunk_size": chunk, "total_chunk_count": count}}  # fmt: skip
    reply = requests.post(f"{base}v2/post/publish/video/init/", json=body, headers=BEARER)
    assert reply.status_code == 200, reply.text
    data: dict[str, Any] = reply.json()["data"]
    return data


def test_a_file_upload_goes_to_the_loopback_server_and_publishes(
    app: TikTokApp, server: SimulatorServer, clock: FakeClock
) -> None:
    size, chunk = 12 * MB, 5 * MB  # two chunks: 5 MB, then the 7 MB rest
    data = init(server.url, size, chunk, 2)
    url = data["upload_url"]
    assert url.startswith(f"{server.url}upload/")  # not TikTok's host: this server
    ask = {"publish_id": data["publish_id"]}

    def status() -> dict[str, Any]:
        reply = requests.post(
            f"{server.url}v2/post/publish/status/fetch/", json=ask, headers=BEARER
        )
        answer: dict[str, Any] = reply.json()["data"]
        return answer

    def put(first: int, last: int, length: int) -> requests.Response:
        headers = {"Content-Range": f"bytes {first}-{last}/{size}", "Content-Type": "video/mp4"}
        return requests.put(url, data=b"v" * length, headers=headers)

    assert put(0, chunk - 1, chunk).status_code == 206
    assert status()["status"] == "PROCESSING_UPLOAD"
    assert status()["uploaded_bytes"] == chunk
    wrong = put(1, chunk, chunk)  # a range that starts inside a chunk
    assert wrong.status_code == 416
    assert "not a chunk of this upload" in wrong.json()["error"]["message"]
    assert put(chunk, size - 1, size - chunk).status_code == 201
    clock.advance(29)
    assert status()["status"] == "PROCESSING_UPLOAD"  # processing takes 30 s from the last byte
    clock.advance(1)
    done = status()
    assert done["status"] == "PUBLISH_COMPLETE" and done["uploaded_bytes"] == size
    assert [r.status for r in app.requests if r.path == "/upload/video/"] == [206, 416, 201]


def test_a_request_to_the_upload_host_by_name_is_an_upload(server: SimulatorServer) -> None:
    # As FakeTikTok takes every request to the upload host: a client whose requests for
    # open-upload.tiktokapis.com reach this server (a proxy, a hosts file) is served too.
    data = init(server.url, 10, 10, 1)
    query = data["upload_url"].partition("?")[2]
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.request("PUT", f"/video/?{query}", body=b"0123456789", headers={
            "Host": "open-upload.tiktokapis.com", "Content-Range": "bytes 0-9/10",
            "Content-Type": "video/mp4",
        })  # fmt: skip
        assert connection.getresponse().status == 201
    finally:
        connection.close()


def test_the_upload_url_names_the_address_the_client_used(server: SimulatorServer) -> None:
    data = init(f"http://localhost:{server.port}/", 10, 10, 1)
    assert data["upload_url"].startswith(f"http://localhost:{server.port}/upload/video/?")


def test_a_business_simulator_serves_no_upload_host(clock: FakeClock) -> None:
    with SimulatorServer(TikTokApp(clock=clock, preset="business")) as server:
        headers = {"Content-Range": "bytes 0-9/10", "Content-Type": "video/mp4"}
        reply = requests.put(f"{server.url}upload/video/?upload_id=1", data=b"0" * 10,
                             headers=headers)  # fmt: skip
        assert reply.json()["code"] != 0  # the Business API's own error: no such path
        assert server.app.requests[-1].path == "/upload/video/"
        assert "content_range" not in server.app.requests[-1].query


@pytest.mark.beside  # waits on processes of its own: run beside the others (tests/beside.py)
def test_the_simulate_command_serves_the_upload_host() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "tiktok_adapter", "simulate", "--port", "0",
         "--preset", "content-posting"],
        stderr=subprocess.PIPE, text=True, env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    try:
        assert process.stderr is not None
        found = re.search(r"on (http://127\.0\.0\.1:\d+/)", process.stderr.readline())
        assert found
        base = found.group(1)
        body = {"post_info": {"privacy_level": "SELF_ONLY"},
                "source_info": {"source": "FILE_UPLOAD", "video_size": 10,
                                "chunk_size": 10, "total_chunk_count": 1}}  # fmt: skip
        request = urllib.request.Request(
            f"{base}v2/post/publish/video/init/", data=json.dumps(body).encode(),
            headers={**BEARER, "Content-Type": "application/json"}, method="POST",
        )  # fmt: skip
        with urllib.request.urlopen(request, timeout=10) as reply:
            data = json.load(reply)["data"]
        put = urllib.request.Request(
            data["upload_url"], data=b"0123456789", method="PUT",
            headers={"Content-Range": "bytes 0-9/10", "Content-Type": "video/mp4"},
        )  # fmt: skip
        with urllib.request.urlopen(put, timeout=10) as reply:
            assert reply.status == 201
        ask = json.dumps({"publish_id": data["publish_id"]}).encode()
        fetch = urllib.request.Request(
            f"{base}v2/post/publish/status/fetch/", data=ask, method="POST",
            headers={**BEARER, "Content-Type": "application/json"},
        )  # fmt: skip
        with urllib.request.urlopen(fetch, timeout=10) as reply:
            assert json.load(reply)["data"]["uploaded_bytes"] == 10
    finally:
        stop_process(process)
