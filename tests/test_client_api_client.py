"""tiktok-api-client, unchanged, posting videos and photos for several creators.

The client has no Session: every call is a module-level ``requests.post``, so the
adapter goes under it with ``tiktok_adapter.install``. Each creator logs in through
the simulator's ``/v2/oauth/token/`` (authorization code), then posts more than the
Content Posting API's 6 inits a minute per user token. Without the adapter the
client raises on the 429s and those posts are lost; with it, on default settings,
every post goes through.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

import tiktok_adapter
from tiktok_adapter.testing import FakeClock, FakeTikTok

tiktok_api_client = pytest.importorskip("tiktok_api_client")

CREATORS = 3
POSTS = 8  # per creator: 8 videos and 8 photo posts, 16 inits, all at once
PHOTOS = ["https://cdn.example/a.jpg", "https://cdn.example/b.jpg"]


@pytest.fixture
def fake(clock: FakeClock) -> Iterator[FakeTikTok]:
    with FakeTikTok(preset="content-posting", clock=clock, require_auth=True) as started:
        yield started


@dataclass
class Run:
    posted: set[tuple[str, str]] = field(default_factory=set)  # (open_id, title)
    publish_ids: dict[str, str] = field(default_factory=dict)  # publish_id -> access token
    failures: list[str] = field(default_factory=list)


def post_everything() -> Run:
    """What an app built on the client does: log each creator in, then post for all."""
    run = Run()
    clients = []
    for n in range(CREATORS):
        client = tiktok_api_client.TikTok("client-key", "client-secret", "https://app.example/cb")
        client.exchange_code_for_token(f"code-of-creator-{n}")
        clients.append(client)
    for k in range(POSTS):
        for client in clients:
            who = client.token_data["open_id"]
            for kind in ("video", "photo"):
                title = f"{kind} {k}"
                try:
                    if kind == "video":
                        answer = client.create_video(
                            source="PULL_FROM_URL", upload_type="POST_VIDEO_URL", title=title,
                            privacy_level="SELF_ONLY", video_url="https://cdn.example/v.mp4",
                        )  # fmt: skip
                    else:
                        answer = client.create_photo(
                            post_mode="DIRECT_POST", title=title, privacy_level="SELF_ONLY",
                            photo_images=PHOTOS, photo_cover_index=1,
                        )["photo_upload_response"]  # fmt: skip
                except Exception as exc:  # the client's own errors: HTTPError and plain Exception
                    run.failures.append(f"{who} {title}: {exc}")
                    continue
                run.posted.add((who, title))
                run.publish_ids[answer["data"]["publish_id"]] = client.token_data["access_token"]
    return run


def test_without_the_adapter_posts_are_lost(fake: FakeTikTok) -> None:
    run = post_everything()

    assert fake.rate_limited > 0
    assert run.failures and all("429" in f for f in run.failures)
    assert len(run.posted) < CREATORS * POSTS * 2


def test_with_the_adapter_every_creator_posts_everything(
    fake: FakeTikTok, clock: FakeClock
) -> None:
    with tiktok_adapter.install(clock=clock, preset="content-posting") as adapter:
        run = post_everything()
        clock.advance(31)  # the simulated uploads finish
        client = tiktok_api_client.TikTok("client-key", "client-secret", "https://app.example/cb")
        states = {
            client.check_upload_status(pid, access_token=token)["data"]["status"]
            for pid, token in run.publish_ids.items()
        }
        # Refresh and revoke go to the simulator's OAuth, outside every quota.
        first = client.exchange_code_for_token("code-of-creator-0")
        refreshed = client.refresh_access_token()
        client.revoke_access_token()

    assert run.failures == []
    assert fake.rate_limited == 0 and adapter.stats().total.rate_limited == 0
    assert all(r.status == 200 for r in fake.requests)
    # Every post of every creator, a superset of what the run without the adapter got.
    opens = {g.open_id for g in fake.oauth.grants.values() if g.open_id}
    assert len(opens) == CREATORS
    assert run.posted == {(o, f"{kind} {k}") for o in opens for k in range(POSTS)
                          for kind in ("video", "photo")}  # fmt: skip
    assert fake.count("/post/publish/video/init/") == CREATORS * POSTS
    assert fake.count("/post/publish/content/init/") == CREATORS * POSTS
    assert states == {"PUBLISH_COMPLETE"}
    assert refreshed["access_token"] != first["access_token"]
    assert refreshed["open_id"] == first["open_id"] in opens
    assert fake.oauth.revoked == {refreshed["access_token"]}
    # Each creator's 16 inits (6 a minute on each endpoint) took the adapter minutes.
    assert clock.now() - fake.requests[0].time >= 60
    assert sum(clock.sleeps) > 0
