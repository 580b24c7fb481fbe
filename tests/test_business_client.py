"""python-tiktok's BusinessAccountApi, unchanged, moderating comments through the adapter."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tiktok_adapter import mount
from tiktok_adapter.testing import FakeClock, FakeTikTok

pytiktok = pytest.importorskip("pytiktok")

BUSINESS_ID = "biz-0001"
SPAM_WORDS = ("bit.ly", "dm me", "free coins", "crypto")
# TikTok's wording of a 40100, as the API's users report it.
TIKTOK_40100 = "Due to too many requests, requests from App are temporarily restricted."


@pytest.fixture
def fake(clock: FakeClock) -> Iterator[FakeTikTok]:
    with FakeTikTok(preset="business", clock=clock, require_auth=True) as started:
        yield started


@dataclass
class Outcome:
    """What the bot did and which of its calls the API refused."""

    calls: int = 0
    errors: list[dict[str, object]] = field(default_factory=list)
    hidden: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    pinned: list[str] = field(default_factory=list)
    replies: list[str] = field(default_factory=list)


def _call(
    outcome: Outcome, method: Callable[..., Any], *args: object, **kwargs: object
) -> dict[str, Any] | None:
    """Call a pytiktok method for its JSON; a PyTiktokError is recorded, not raised."""
    outcome.calls += 1
    try:
        answer: dict[str, Any] = method(*args, return_json=True, **kwargs)
        return answer
    except pytiktok.PyTiktokError as exc:
        outcome.errors.append(exc.message)
        return None


def moderate(api: Any, clock: FakeClock, passes: int) -> Outcome:
    """A moderation bot written against python-tiktok only: it knows nothing of limits.

    It visits one video a second; on each it pages through the comments, hides and
    deletes spam, pins, likes and answers the first friendly comment, and thanks viewers.
    """
    outcome = Outcome()
    ids: list[str] = []
    cursor: int | None = None
    while True:
        videos = _call(outcome, api.get_account_videos, BUSINESS_ID, fields=["item_id"],
                       cursor=cursor, max_count=20)  # fmt: skip
        assert videos is not None, outcome.errors
        ids += [v["item_id"] for v in videos["data"]["videos"]]
        if not videos["data"]["has_more"]:
            break
        cursor = videos["data"]["cursor"]
    for n in range(passes):
        for video in ids:
            clock.advance(1.0)
            comments: list[dict[str, object]] = []
            offset = 0
            while True:
                page = _call(outcome, api.get_video_comments, BUSINESS_ID, video,
                             cursor=offset, max_count=30)  # fmt: skip
                if page is None:
                    break
                comments += page["data"]["comments"]
                if not page["data"]["has_more"]:
                    break
                offset = page["data"]["cursor"]
            if n > 0:
                continue  # later passes only re-read what the first one moderated
            for c in comments:
                cid = str(c["comment_id"])
                if any(word in str(c["text"]).lower() for word in SPAM_WORDS):
                    if _call(outcome, api.hide_comment, BUSINESS_ID, video, cid) is not None:
                        outcome.hidden.append(cid)
                    if _call(outcome, api.delete_comment, BUSINESS_ID, cid) is not None:
                        outcome.deleted.append(cid)
            friendly = [c for c in comments if not any(w in str(c["text"]).lower()
                                                      for w in SPAM_WORDS)]  # fmt: skip
            if friendly:
                cid = str(friendly[0]["comment_id"])
                if _call(outcome, api.pin_comment, BUSINESS_ID, video, cid) is not None:
                    outcome.pinned.append(cid)
                _call(outcome, api.like_comment, BUSINESS_ID, cid)
                reply = _call(outcome, api.create_reply, BUSINESS_ID, video, cid, text="thank you!")
                if reply is not None:
                    outcome.replies.append(str(reply["data"]["comment_id"]))
            _call(outcome, api.create_comment, BUSINESS_ID, video, text="thanks for watching")
    return outcome


def test_the_client_moderates_for_hours_without_one_40100(
    fake: FakeTikTok, clock: FakeClock
) -> None:
    api = pytiktok.BusinessAccountApi(access_token="act.simulated")
    adapter = mount(api.session, preset="business", clock=clock, default_priority="critical")
    start = clock.now()

    outcome = moderate(api, clock, passes=4)

    assert outcome.errors == []
    assert fake.rate_limited == 0 and fake.count(refused=True) == 0
    assert all(r.status == 200 for r in fake.requests)
    assert len(fake.requests) == outcome.calls > 500
    assert adapter.stats().total.rate_limited == 0
    # Pins are 50 an hour and comment lists 100 an hour: the adapter waited hours for them.
    assert clock.now() - start > 2 * 3600
    assert fake.count("/business/comment/list/") > 100

    # The moderation really happened, as the simulator recorded it.
    assert outcome.deleted and outcome.deleted == outcome.hidden
    assert all(fake.comment(cid).deleted for cid in outcome.deleted)
    for video in fake.videos:
        assert not any(w in c.text.lower() for c in fake.comments(video["id"]) for w in SPAM_WORDS)
    pinned_now = {c.id for v in fake.videos for c in fake.comments(v["id"]) if c.pinned}
    assert pinned_now == set(outcome.pinned)
    assert all(fake.comment(cid).liked for cid in outcome.pinned)
    assert all(fake.comment(r).parent_comment_id in outcome.pinned for r in outcome.replies)
    kinds = {a.action for a in fake.actions}
    assert kinds == {"hide", "delete", "pin", "like", "create"}


def test_without_the_adapter_the_same_bot_gets_40100s(fake: FakeTikTok, clock: FakeClock) -> None:
    api = pytiktok.BusinessAccountApi(access_token="act.simulated")

    outcome = moderate(api, clock, passes=1)

    assert fake.rate_limited > 0
    assert outcome.errors and {e["code"] for e in outcome.errors} == {40100}
    assert {e["message"] for e in outcome.errors} == {TIKTOK_40100}
    assert len(outcome.errors) == fake.rate_limited


def test_the_client_reads_the_account_and_sees_errors_as_pytiktok_errors(
    fake: FakeTikTok, clock: FakeClock
) -> None:
    api = pytiktok.BusinessAccountApi(access_token="act.simulated")
    mount(api.session, preset="business", clock=clock, default_priority="critical")
    account = api.get_account_data(BUSINESS_ID, fields=["username", "followers_count"])
    assert account.code == 0 and account.data.username == fake.user["username"]
    assert account.data.followers_count == fake.user["follower_count"]
    with pytest.raises(pytiktok.PyTiktokError) as missing:
        api.delete_comment(BUSINESS_ID, "no-such-comment")
    assert missing.value.message["code"] == 40002
