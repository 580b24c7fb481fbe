"""A write whose answer shows it was processed is never sent again, refusal code or not.

TikTok's v2 envelope carries ``error`` in every answer (``"ok"`` on success) and the
result in ``data``. A 200 whose ``data`` holds the created comment was processed, even
when its ``error`` says ``rate_limit_exceeded``: sending it again posts the comment
twice. The caller gets that answer; the endpoint still rests as the code asks.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from transports import KINDS, Factory, Reply, Script, drivers

from tiktok_adapter.testing import FakeClock

BASE = "https://open.tiktokapis.com"
CREATE = f"{BASE}/v2/video/comment/create/"
PUBLISH = f"{BASE}/v2/post/publish/video/init/"
BUSINESS_CREATE = "https://business-api.tiktok.com/open_api/v1.3/business/comment/create/"
LIMITED = {"code": "rate_limit_exceeded", "message": "slow down", "log_id": "l"}
CREATED = {"data": {"comment_id": "7300000000000000099"}, "error": LIMITED}
REFUSED = {"data": {}, "error": LIMITED}
OK = {"data": {"comment_id": "7300000000000000100"}, "error": {"code": "ok", "message": ""}}
CRITICAL = {"default_priority": "critical", "safety_margin": 0.0}
COMMENT = {"video_id": "7300000000000000001", "text": "hi"}


@pytest.fixture(params=KINDS)
def drive(request: pytest.FixtureRequest, clock: FakeClock) -> Iterator[Factory]:
    yield from drivers(request.param, clock)


def script_of(url: str, *replies: Reply) -> Script:
    script = Script()
    for reply in replies:
        script.add("POST", url, reply)
    return script


@pytest.mark.parametrize("on_limit", ["sleep", "raise"])
def test_a_created_comment_with_a_rate_limit_code_is_sent_once(
    drive: Factory, on_limit: str
) -> None:
    script = script_of(CREATE, Reply(json=CREATED), Reply(json=OK))
    driver = drive(script, on_limit=on_limit, **CRITICAL)
    response = driver.post(CREATE, COMMENT)
    assert len(script.calls) == 1  # was 4: the first answer and three re-sends
    assert response.status_code == 200
    assert response.json()["data"]["comment_id"] == "7300000000000000099"
    assert response.json()["error"]["code"] == "rate_limit_exceeded"


def test_the_endpoint_still_rests_after_a_processed_refusal(
    drive: Factory, clock: FakeClock
) -> None:
    script = script_of(CREATE, Reply(json=CREATED), Reply(json=OK))
    driver = drive(script, **CRITICAL)
    driver.post(CREATE, COMMENT)
    assert clock.sleeps == []
    assert driver.post(CREATE, COMMENT).json()["error"]["code"] == "ok"
    assert len(clock.sleeps) == 1 and clock.sleeps[0] > 0  # the code still paused it
    assert len(script.calls) == 2


def test_a_publish_with_a_result_is_sent_once(drive: Factory) -> None:
    published = {"data": {"publish_id": "v_pub_1"}, "error": LIMITED}
    script = script_of(PUBLISH, Reply(json=published), Reply(json=OK))
    driver = drive(script, preset="content-posting", **CRITICAL)
    assert driver.post(PUBLISH, {"post_info": {}}).json()["data"] == {"publish_id": "v_pub_1"}
    assert len(script.calls) == 1


def test_a_business_40100_with_a_result_is_sent_once(drive: Factory) -> None:
    created = {"code": 40100, "message": "qps", "data": {"comment_id": "c1"}}
    script = script_of(BUSINESS_CREATE, Reply(json=created), Reply(json={"code": 0}))
    driver = drive(script, preset="business", **CRITICAL)
    assert driver.post(BUSINESS_CREATE, {"business_id": "b"}).json()["data"]["comment_id"] == "c1"
    assert len(script.calls) == 1


@pytest.mark.parametrize(
    "data", [{}, None, [], "", 0], ids=["empty", "absent", "list", "text", "0"]
)
def test_a_refusal_without_a_result_is_still_sent_again(drive: Factory, data: object) -> None:
    # Nothing shows the write happened: TikTok's refusals carry "data": {} (or none).
    body = {"error": LIMITED} if data is None else {"data": data, "error": LIMITED}
    script = script_of(CREATE, Reply(json=body), Reply(json=OK))
    driver = drive(script, **CRITICAL)
    assert driver.post(CREATE, COMMENT).json()["error"]["code"] == "ok"
    assert len(script.calls) == 2


def test_a_429_with_a_result_in_its_body_is_still_a_refusal(drive: Factory) -> None:
    # Only a 2xx is an answer; a 429 says the request was not processed, whatever it holds.
    script = script_of(CREATE, Reply(status=429, json=CREATED), Reply(json=OK))
    driver = drive(script, **CRITICAL)
    assert driver.post(CREATE, COMMENT).json()["error"]["code"] == "ok"
    assert len(script.calls) == 2
